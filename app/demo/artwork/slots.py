"""Stone places and how a stone count is spread over them symmetrically."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class _Slot:
    """A place for a stone; unfilled slots may show a polished metal bead instead."""

    x: float
    y: float
    r: float
    shape: str = "round"
    sx: float = 1.0
    tilt: float = 0.0
    collet: bool = True
    bead: bool = False


@dataclass
class _Slots:
    """Stone places in priority groups of one (on the centre line) or two (mirrored)."""

    groups: list[tuple[float, list[_Slot]]] = field(default_factory=list)

    def add(self, prio: float, *slots: _Slot) -> None:
        """Add a group."""
        self.groups.append((prio, list(slots)))

    def pair(self, prio: float, slot: _Slot) -> None:
        """Add a slot and its mirror image (or just it, if on the centre line)."""
        if abs(slot.x) < 1e-6:
            self.add(prio, slot)
            return
        mirror = _Slot(-slot.x, slot.y, slot.r, slot.shape, slot.sx, -slot.tilt, slot.collet)
        mirror.bead = slot.bead
        self.add(prio, slot, mirror)

    def choose(self, count: int) -> tuple[list[_Slot], list[_Slot]]:
        """Pick exactly count stones by priority (keeping symmetry); the rest may be beads."""
        order = sorted(range(len(self.groups)), key=lambda i: self.groups[i][0])
        chosen: list[_Slot] = []
        taken: set[int] = set()
        left = count
        for i in order:
            g = self.groups[i][1]
            if len(g) <= left:
                chosen.extend(g)
                taken.add(i)
                left -= len(g)
        if left == 1:  # odd count but no single left: swap the last single for a pair
            pair = next((i for i in order if i not in taken and len(self.groups[i][1]) == 2), None)
            single = next(
                (i for i in reversed(order) if i in taken and len(self.groups[i][1]) == 1), None
            )
            if pair is not None and single is not None:
                taken = (taken - {single}) | {pair}
        chosen = [s for i in order if i in taken for s in self.groups[i][1]]
        rest = [s for i in order if i not in taken for s in self.groups[i][1]]
        return chosen, [s for s in rest if s.bead]


@dataclass
class _Plan:
    """A drawn piece: its stone slots and the ends of its base line (units)."""

    slots: _Slots
    band_left: tuple[float, float]
    band_right: tuple[float, float]
