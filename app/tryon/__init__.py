"""Try-on in the shop: live webcam and photo try-on, snapshots and size advice."""
