from __future__ import annotations

import uuid

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import BaseModel


class AuditEvent(BaseModel):
    """One change, written in the transaction that made it: who, what, on what, from where.

    `changes` holds a small summary of what changed; never secrets, tokens or bodies.
    """

    __tablename__ = "audit_events"

    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Who acted, as shown at the time (an email, "application <client id>", "system").
    actor_label: Mapped[str] = mapped_column(String(320), default="")
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[str] = mapped_column(String(64), default="")
    request_id: Mapped[str] = mapped_column(String(64), default="")
    client_ip: Mapped[str] = mapped_column(String(45), default="")
    changes: Mapped[dict] = mapped_column(JSON, default=dict)


Index("ix_audit_events_created", AuditEvent.created_at)
Index("ix_audit_events_actor_created", AuditEvent.actor_id, AuditEvent.created_at)
Index("ix_audit_events_action_created", AuditEvent.action, AuditEvent.created_at)
Index("ix_audit_events_target", AuditEvent.target_type, AuditEvent.target_id)
