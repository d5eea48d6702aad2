"""Merging users who share an email address (compared case-insensitively).

As the reference's `merge_duplicate_users`: per email the newest user is kept; the
others' room and recording accesses move to it, the higher role winning where both
hold one; their files (and the share links they made) move too; then they are
deleted. Users without an email, or with a blank one, are never merged. The caller
runs a merge in one transaction: it all happens or none of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..models import File, RecordingAccess, ResourceAccess, User
from ..models.share_link import RecordingShareLink

USER_MERGE = "user.merge"  # the audit action


@dataclass
class MergeGroup:
    """The users of one email: the one kept and those merged into it."""

    email: str
    kept: User
    merged: list[User]
    moved_room_accesses: int = 0
    moved_recording_accesses: int = 0
    moved_files: int = 0

    def as_dict(self) -> dict:
        return {
            "email": self.email,
            "kept": str(self.kept.id),
            "merged": [str(user.id) for user in self.merged],
            "room_accesses": self.moved_room_accesses,
            "recording_accesses": self.moved_recording_accesses,
            "files": self.moved_files,
        }


@dataclass
class MergePlan:
    groups: list[MergeGroup] = field(default_factory=list)

    @property
    def merged_count(self) -> int:
        return sum(len(group.merged) for group in self.groups)


def _newest_first(user: User):
    return (user.created_at, str(user.id))


def duplicate_groups(db: Session, email_filter: str | None = None) -> list[MergeGroup]:
    """The emails more than one user holds (optionally only those containing
    `email_filter`, any case), each with the user to keep and those to merge."""
    email = func.lower(func.trim(User.email))
    query = (
        select(email)
        .where(User.email.is_not(None), email != "")
        .group_by(email)
        .having(func.count() > 1)
        .order_by(email)
    )
    if email_filter:
        query = query.where(email.contains(email_filter.strip().lower(), autoescape=True))
    groups = []
    for address in db.scalars(query).all():
        users = sorted(
            db.scalars(select(User).where(email == address)).all(), key=_newest_first, reverse=True
        )
        groups.append(MergeGroup(email=address, kept=users[0], merged=users[1:]))
    return groups


def _move_accesses(db: Session, model, owner_column: str, kept_id, merged_id) -> int:
    """Give `kept` the merged user's accesses of `model`; where both hold one on the same
    resource, the kept one takes the higher role and the other goes."""
    kept_roles = {
        getattr(access, owner_column): access
        for access in db.scalars(select(model).where(model.user_id == kept_id))
    }
    moved = 0
    for access in db.scalars(select(model).where(model.user_id == merged_id)).all():
        target = kept_roles.get(getattr(access, owner_column))
        if target is None:
            access.user_id = kept_id
        else:
            if access.role.strength > target.role.strength:
                target.role = access.role
            db.delete(access)
        moved += 1
    return moved


def merge_group(db: Session, group: MergeGroup) -> MergeGroup:
    """Merge one group's users into its kept user (in the caller's transaction)."""
    kept_id = group.kept.id
    for user in group.merged:
        group.moved_room_accesses += _move_accesses(
            db, ResourceAccess, "resource_id", kept_id, user.id
        )
        group.moved_recording_accesses += _move_accesses(
            db, RecordingAccess, "recording_id", kept_id, user.id
        )
        db.flush()
        result = db.execute(
            update(File).where(File.creator_id == user.id).values(creator_id=kept_id)
        )
        group.moved_files += result.rowcount or 0
        db.execute(
            update(RecordingShareLink)
            .where(RecordingShareLink.created_by_id == user.id)
            .values(created_by_id=kept_id)
        )
        db.delete(user)
    db.flush()
    return group


def merge_duplicates(
    db: Session, email_filter: str | None = None, *, dry_run: bool = False
) -> MergePlan:
    """Merge every duplicate group (or only report them with `dry_run`)."""
    plan = MergePlan(groups=duplicate_groups(db, email_filter))
    # A dry run merges in a savepoint it then rolls back: the figures are the real ones.
    savepoint = db.begin_nested() if dry_run else None
    for group in plan.groups:
        merge_group(db, group)
    if savepoint is not None:
        savepoint.rollback()
    return plan


def group_of(db: Session, user: User) -> MergeGroup | None:
    """The duplicate group `user`'s email belongs to, or None when it has none."""
    address = (user.email or "").strip().lower()
    if not address:
        return None
    for group in duplicate_groups(db, address):
        if group.email == address:
            return group
    return None
