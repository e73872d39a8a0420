"""Rule-set versions: upload, validate, activate, roll back; the active one cached per process."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import versions
from dispatch.audit import log as audit
from dispatch.audit.models import AuditEntry
from dispatch.audit.schemas import SYSTEM, Actor
from dispatch.errors import Conflict, NotFound
from dispatch.hospitals.models import Hospital
from dispatch.routing import rules
from dispatch.routing.exceptions import NoRuleSet, RuleSetRejected
from dispatch.routing.models import RuleSet
from dispatch.runtime import Runtime

log = logging.getLogger(__name__)

ACTIVATIONS = ("rule_set.activated", "rule_set.rolled_back")
COMPILED_KEPT = 16


async def check(*, session: AsyncSession, source: str) -> rules.CompiledRuleSet:
    """Validate a rule set whole; raise RuleSetRejected naming every offending rule."""
    try:
        doc = rules.parse(source)
    except rules.RuleSetInvalid as error:
        raise RuleSetRejected.of(error) from None
    named = rules.named_hospitals(doc)
    if named:
        known = set((await session.scalars(
            select(Hospital.id).where(Hospital.id.in_({h for _, h in named}))
        )).all())
        errors = [{"field": field, "message": f"unknown hospital {hospital!r}"}
                  for field, hospital in named if hospital not in known]
        if errors:
            raise RuleSetRejected.of(rules.RuleSetInvalid(errors))
    return rules.compile_rule_set(doc, version=0, source_checksum=rules.checksum(source))


async def list_rule_sets(*, session: AsyncSession) -> list[RuleSet]:
    """Every rule-set version, newest first."""
    return list((await session.scalars(select(RuleSet).order_by(RuleSet.version.desc()))).all())


async def get_rule_set(*, session: AsyncSession, version: int) -> RuleSet:
    row = await session.get(RuleSet, version)
    if row is None:
        raise NotFound(f"no rule set version {version}")
    return row


async def active_rule_set(*, session: AsyncSession) -> RuleSet:
    row = (await session.scalars(select(RuleSet).where(RuleSet.active.is_(True)))).first()
    if row is None:
        raise NoRuleSet("no rule set is active: upload one and activate it")
    return row


async def _load_active(session: AsyncSession) -> rules.CompiledRuleSet:
    row = await active_rule_set(session=session)
    return rules.load(row.source, version=row.version)


def active_cache(rt: Runtime) -> versions.VersionedCache[rules.CompiledRuleSet]:
    return versions.cache_of(rt, "rules", versions.RULES, _load_active)


async def compiled(*, rt: Runtime, session: AsyncSession, version: int) -> rules.CompiledRuleSet:
    """A given version compiled (versions never change, so they are kept per process)."""
    kept = rt.compiled_rule_sets
    found = kept.get(version)
    if found is None:
        row = await get_rule_set(session=session, version=version)
        found = rules.load(row.source, version=row.version)
        if len(kept) >= COMPILED_KEPT:
            kept.pop(next(iter(kept)))
        kept[version] = found
    return found


async def _insert(
    session: AsyncSession, *, source: str, compiled_set: rules.CompiledRuleSet, actor: Actor,
    rt: Runtime,
) -> RuleSet:
    latest = await session.scalar(select(func.max(RuleSet.version)))
    row = RuleSet(version=(latest or 0) + 1, name=compiled_set.name[:200], source=source,
                  checksum=compiled_set.checksum, active=False, created_at=rt.clock.now(),
                  created_by=actor.name[:64])
    session.add(row)
    await session.flush()
    await audit.record(session, actor=actor.name, role=actor.role, action="rule_set.uploaded",
                       target_type="rule_set", target_id=str(row.version), before=None,
                       after={"version": row.version, "name": row.name, "checksum": row.checksum,
                              "rules": compiled_set.rule_ids},
                       source=actor.source, at=rt.clock.now())
    return row


async def _switch(
    session: AsyncSession, *, rt: Runtime, target: RuleSet, actor: Actor, action: str
) -> RuleSet | None:
    """Make `target` the active rule set; return the one it replaced. Does not commit."""
    rows = (await session.scalars(select(RuleSet).with_for_update())).all()
    previous = next((r for r in rows if r.active), None)
    now = rt.clock.now()
    if previous is not None:
        previous.active = False
        await session.flush()
    target.active, target.activated_at, target.activated_by = True, now, actor.name[:64]
    await audit.record(session, actor=actor.name, role=actor.role, action=action,
                       target_type="rule_set", target_id=str(target.version),
                       before={"active_version": previous.version if previous else None},
                       after={"active_version": target.version}, source=actor.source, at=now)
    return previous


async def _commit_switch(
    session: AsyncSession, rt: Runtime, target: RuleSet, previous: RuleSet | None, action: str
) -> None:
    event = rt.bus.event("routing.rules_activated", {
        "version": target.version, "name": target.name, "action": action,
        "previous_version": previous.version if previous else None,
    })
    await session.commit()
    await versions.bump(rt.redis, rt.keys, versions.RULES)
    await rt.bus.publish(event)


async def upload(
    *, session: AsyncSession, rt: Runtime, source: str, actor: Actor, activate: bool = False
) -> RuleSet:
    """Store a validated rule set as a new version (and activate it if asked)."""
    compiled_set = await check(session=session, source=source)
    try:
        row = await _insert(session, source=source, compiled_set=compiled_set, actor=actor, rt=rt)
        if not activate:
            await session.commit()
            return row
        previous = await _switch(session, rt=rt, target=row, actor=actor,
                                 action="rule_set.activated")
        await _commit_switch(session, rt, row, previous, "rule_set.activated")
    except IntegrityError:
        await session.rollback()
        raise Conflict("another rule set was uploaded at the same time; retry") from None
    return row


async def activate(*, session: AsyncSession, rt: Runtime, version: int, actor: Actor) -> RuleSet:
    """Make a stored version the active one; the next decision on every instance uses it."""
    target = await get_rule_set(session=session, version=version)
    if target.active:
        return target
    try:  # stored versions were valid when uploaded; a newer hub may read them differently
        rules.load(target.source, version=target.version)
    except rules.RuleSetInvalid as error:
        raise RuleSetRejected.of(error) from None
    previous = await _switch(session, rt=rt, target=target, actor=actor,
                             action="rule_set.activated")
    await _commit_switch(session, rt, target, previous, "rule_set.activated")
    return target


async def _history(session: AsyncSession) -> list[int]:
    """Active versions over time, as activations and rollbacks left them (a stack)."""
    entries = (await session.scalars(
        select(AuditEntry).where(AuditEntry.target_type == "rule_set",
                                 AuditEntry.action.in_(ACTIVATIONS)).order_by(AuditEntry.id)
    )).all()
    stack: list[int] = []
    for entry in entries:
        after: dict[str, Any] = entry.after or {}
        if entry.action == "rule_set.rolled_back" and stack:
            stack.pop()
        if not stack or stack[-1] != after.get("active_version"):
            stack.append(int(after["active_version"]))
    return stack


async def rollback(*, session: AsyncSession, rt: Runtime, actor: Actor) -> RuleSet:
    """Return to the version that was active before the current one."""
    current = await active_rule_set(session=session)
    stack = await _history(session)
    while stack and stack[-1] == current.version:
        stack.pop()
    if not stack:
        raise Conflict(f"rule set {current.version} has no earlier active version to return to")
    target = await get_rule_set(session=session, version=stack[-1])
    previous = await _switch(session, rt=rt, target=target, actor=actor,
                             action="rule_set.rolled_back")
    await _commit_switch(session, rt, target, previous, "rule_set.rolled_back")
    return target


async def ensure_default(rt: Runtime, source: str) -> int | None:
    """Install `source` as the active rule set when none is active (first start of a hub)."""
    async with rt.sessionmaker() as session:
        if (await session.scalars(select(RuleSet.version).where(RuleSet.active.is_(True)))).first():
            return None
        compiled_set = rules.load(source, version=0)
        try:
            row = await _insert(session, source=source, compiled_set=compiled_set, actor=SYSTEM,
                                rt=rt)
            previous = await _switch(session, rt=rt, target=row, actor=SYSTEM,
                                     action="rule_set.activated")
            await _commit_switch(session, rt, row, previous, "rule_set.activated")
        except IntegrityError:  # another instance installed it first
            await session.rollback()
            return None
    log.info("installed the default routing rule set as version %d", row.version)
    return row.version
