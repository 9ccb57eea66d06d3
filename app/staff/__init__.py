"""Staff workspace: production stages, design approvals, QC and shipping."""
