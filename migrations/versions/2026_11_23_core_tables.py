"""Core tables: calls, incidents, zones, hospitals, fleet, routing, events, audit log.

Revision ID: 20261123_core
Revises:
Created: 2026-11-23 10:38:42.968796
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

revision: str = '20261123_core'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_T = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
# SQLite auto-increments only a column declared exactly INTEGER PRIMARY KEY.
BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

APPEND_ONLY = (
    """CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_log is append-only';
    END $$""",
    """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
)


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('actor_role', sa.String(length=24), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target_type', sa.String(length=32), nullable=False),
    sa.Column('target_id', sa.String(length=64), nullable=True),
    sa.Column('source', sa.String(length=64), nullable=True),
    sa.Column('before', JSON_T, nullable=True),
    sa.Column('after', JSON_T, nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index(op.f('ix_audit_log_at'), 'audit_log', ['at'], unique=False)
    op.create_index(op.f('ix_audit_log_target_type_target_id'), 'audit_log', ['target_type', 'target_id'], unique=False)
    op.create_table('events',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('data', JSON_T, nullable=False),
    sa.Column('scope', JSON_T, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    op.create_index(op.f('ix_events_type_at'), 'events', ['type', 'at'], unique=False)
    op.create_table('hospitals',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_zh', sa.String(length=200), nullable=True),
    sa.Column('lat', sa.Double(), nullable=False),
    sa.Column('lon', sa.Double(), nullable=False),
    sa.Column('location_approximate', sa.Boolean(), nullable=False),
    sa.Column('level', sa.String(length=24), nullable=False),
    sa.Column('capabilities', JSON_T, nullable=False),
    sa.Column('designations', JSON_T, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('full_categories', JSON_T, nullable=False),
    sa.Column('status_reason', sa.String(length=300), nullable=True),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('notes', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hospitals'))
    )
    op.create_table('positions',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('supervisor', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_positions'))
    )
    op.create_table('posts',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_zh', sa.String(length=200), nullable=True),
    sa.Column('lat', sa.Double(), nullable=False),
    sa.Column('lon', sa.Double(), nullable=False),
    sa.Column('location_approximate', sa.Boolean(), nullable=False),
    sa.Column('sub_district_ids', JSON_T, nullable=False),
    sa.Column('crews', sa.Integer(), nullable=False),
    sa.Column('paired_hospital_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_posts'))
    )
    op.create_table('rule_sets',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('activated_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_rule_sets'))
    )
    op.create_table('scenarios',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('centre_lat', sa.Double(), nullable=False),
    sa.Column('centre_lon', sa.Double(), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('meta', JSON_T, nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scenarios'))
    )
    op.create_table('sub_districts',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('name_zh', sa.String(length=100), nullable=True),
    sa.Column('population', sa.Integer(), nullable=False),
    sa.Column('lat', sa.Double(), nullable=False),
    sa.Column('lon', sa.Double(), nullable=False),
    sa.Column('radius_km', sa.Double(), nullable=False),
    sa.Column('location_approximate', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sub_districts'))
    )
    op.create_table('zones',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('sub_district_id', sa.String(length=64), nullable=True),
    sa.Column('community', sa.String(length=200), nullable=True),
    sa.Column('geometry', JSON_T, nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_zones'))
    )
    op.create_table('incidents',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('lat', sa.Double(), nullable=True),
    sa.Column('lon', sa.Double(), nullable=True),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=24), nullable=False),
    sa.Column('infection_status', sa.String(length=16), nullable=False),
    sa.Column('flags', JSON_T, nullable=False),
    sa.Column('complaint', sa.String(length=300), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('registered_hospital_id', sa.String(length=64), nullable=True),
    sa.Column('treating_hospital_id', sa.String(length=64), nullable=True),
    sa.Column('zone_id', sa.String(length=64), nullable=True),
    sa.Column('zone_status', sa.String(length=16), nullable=True),
    sa.Column('sub_district_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['registered_hospital_id'], ['hospitals.id'], name=op.f('fk_incidents_registered_hospital_id_hospitals')),
    sa.ForeignKeyConstraint(['treating_hospital_id'], ['hospitals.id'], name=op.f('fk_incidents_treating_hospital_id_hospitals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents'))
    )
    op.create_index(op.f('ix_incidents_created_at'), 'incidents', ['created_at'], unique=False)
    op.create_index(op.f('ix_incidents_status'), 'incidents', ['status'], unique=False)
    op.create_table('units',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('call_sign', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('capabilities', JSON_T, nullable=False),
    sa.Column('post_id', sa.String(length=64), nullable=True),
    sa.Column('crew', JSON_T, nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('status_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lat', sa.Double(), nullable=True),
    sa.Column('lon', sa.Double(), nullable=True),
    sa.Column('position_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('assignment_id', sa.Uuid(), nullable=True),
    sa.Column('infectious_load', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_units_post_id_posts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_units'))
    )
    op.create_table('zone_revisions',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('zone_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('snapshot', JSON_T, nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['zone_id'], ['zones.id'], name=op.f('fk_zone_revisions_zone_id_zones'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_zone_revisions'))
    )
    op.create_index(op.f('ix_zone_revisions_zone_id_version'), 'zone_revisions', ['zone_id', 'version'], unique=True)
    op.create_table('calls',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('telephony_id', sa.String(length=128), nullable=False),
    sa.Column('caller_number', sa.String(length=32), nullable=False),
    sa.Column('line', sa.String(length=32), nullable=False),
    sa.Column('priority', sa.Boolean(), nullable=False),
    sa.Column('rung_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('carrier_lat', sa.Double(), nullable=True),
    sa.Column('carrier_lon', sa.Double(), nullable=True),
    sa.Column('carrier_accuracy_m', sa.Double(), nullable=True),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('breached_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_by', sa.String(length=32), nullable=True),
    sa.Column('abandoned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('incident_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_calls_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calls')),
    sa.UniqueConstraint('telephony_id', name=op.f('uq_calls_telephony_id'))
    )
    op.create_index(op.f('ix_calls_incident_id'), 'calls', ['incident_id'], unique=False)
    op.create_index(op.f('ix_calls_rung_at'), 'calls', ['rung_at'], unique=False)
    op.create_index(op.f('ix_calls_status'), 'calls', ['status'], unique=False)
    op.create_table('routing_decisions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('incident_id', sa.Uuid(), nullable=True),
    sa.Column('rule_set_version', sa.Integer(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('outcome', sa.String(length=24), nullable=False),
    sa.Column('destination_hospital_id', sa.String(length=64), nullable=True),
    sa.Column('transport_mode', sa.String(length=32), nullable=True),
    sa.Column('required_capabilities', JSON_T, nullable=False),
    sa.Column('decision', JSON_T, nullable=False),
    sa.Column('matched_rules', JSON_T, nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_routing_decisions_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_decisions'))
    )
    op.create_index(op.f('ix_routing_decisions_incident_id_decided_at'), 'routing_decisions', ['incident_id', 'decided_at'], unique=False)
    op.create_table('unit_events',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('unit_id', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('from_status', sa.String(length=24), nullable=True),
    sa.Column('to_status', sa.String(length=24), nullable=True),
    sa.Column('lat', sa.Double(), nullable=True),
    sa.Column('lon', sa.Double(), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=True),
    sa.Column('data', JSON_T, nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_unit_events_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_events'))
    )
    op.create_index(op.f('ix_unit_events_unit_id_at'), 'unit_events', ['unit_id', 'at'], unique=False)
    op.create_table('assignments',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('incident_id', sa.Uuid(), nullable=False),
    sa.Column('unit_id', sa.String(length=32), nullable=False),
    sa.Column('decision_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('destination_hospital_id', sa.String(length=64), nullable=True),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('proposed_by', sa.String(length=64), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_by', sa.String(length=64), nullable=True),
    sa.Column('ack_deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=200), nullable=True),
    sa.Column('override_reason', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['decision_id'], ['routing_decisions.id'], name=op.f('fk_assignments_decision_id_routing_decisions')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_assignments_incident_id_incidents')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_assignments_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignments'))
    )
    op.create_index(op.f('ix_assignments_incident_id'), 'assignments', ['incident_id'], unique=False)
    op.create_index(op.f('ix_assignments_unit_id_status'), 'assignments', ['unit_id', 'status'], unique=False)
    op.create_table('call_events',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('call_id', sa.Uuid(), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('position_id', sa.String(length=32), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=True),
    sa.Column('data', JSON_T, nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_call_events_call_id_calls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_events'))
    )
    op.create_index(op.f('ix_call_events_call_id_at'), 'call_events', ['call_id', 'at'], unique=False)
    op.create_table('callbacks',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('call_id', sa.Uuid(), nullable=False),
    sa.Column('caller_number', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('taken_by', sa.String(length=32), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('notes', sa.String(length=500), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_callbacks_call_id_calls')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callbacks')),
    sa.UniqueConstraint('call_id', name=op.f('uq_callbacks_call_id'))
    )
    op.create_index(op.f('ix_callbacks_status'), 'callbacks', ['status'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for statement in APPEND_ONLY:
            op.execute(statement)

def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.drop_index(op.f('ix_callbacks_status'), table_name='callbacks')
    op.drop_table('callbacks')
    op.drop_index(op.f('ix_call_events_call_id_at'), table_name='call_events')
    op.drop_table('call_events')
    op.drop_index(op.f('ix_assignments_unit_id_status'), table_name='assignments')
    op.drop_index(op.f('ix_assignments_incident_id'), table_name='assignments')
    op.drop_table('assignments')
    op.drop_index(op.f('ix_unit_events_unit_id_at'), table_name='unit_events')
    op.drop_table('unit_events')
    op.drop_index(op.f('ix_routing_decisions_incident_id_decided_at'), table_name='routing_decisions')
    op.drop_table('routing_decisions')
    op.drop_index(op.f('ix_calls_status'), table_name='calls')
    op.drop_index(op.f('ix_calls_rung_at'), table_name='calls')
    op.drop_index(op.f('ix_calls_incident_id'), table_name='calls')
    op.drop_table('calls')
    op.drop_index(op.f('ix_zone_revisions_zone_id_version'), table_name='zone_revisions')
    op.drop_table('zone_revisions')
    op.drop_table('units')
    op.drop_index(op.f('ix_incidents_status'), table_name='incidents')
    op.drop_index(op.f('ix_incidents_created_at'), table_name='incidents')
    op.drop_table('incidents')
    op.drop_table('zones')
    op.drop_table('sub_districts')
    op.drop_table('scenarios')
    op.drop_table('rule_sets')
    op.drop_table('posts')
    op.drop_table('positions')
    op.drop_table('hospitals')
    op.drop_index(op.f('ix_events_type_at'), table_name='events')
    op.drop_table('events')
    op.drop_index(op.f('ix_audit_log_target_type_target_id'), table_name='audit_log')
    op.drop_index(op.f('ix_audit_log_at'), table_name='audit_log')
    op.drop_table('audit_log')
