"""Prebuilt statements, run on the driver's connection on PostgreSQL.

A busy request's statements are built once, at import (`prebuilt(select(...))`). Through a
`HubSession` such a statement skips SQLAlchemy's execution machinery on PostgreSQL: it is
compiled once for the key set of its parameters, and each run binds the parameters by position
(the same type processing as SQLAlchemy's), runs the asyncpg prepared statement in the
session's transaction and returns plain rows with the same values SQLAlchemy would give. That
halves a statement's client CPU (≈ 145 µs through the session, ≈ 65 µs here; see
loadtests/bench_requests.py). Errors come out as SQLAlchemy's exceptions (IntegrityError, a
disconnect invalidates the connection), so callers cannot tell the two paths apart. Any other
statement, any other database (the embedded SQLite) or any statement the plan cannot carry
(expanding IN parameters, SQL defaults computed at insert) takes SQLAlchemy's path.
"""

from __future__ import annotations

import collections
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, NoReturn, TypeVar

from sqlalchemy import exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import ValuesBase

# id(statement) -> its plan (the plan holds the statement, so the id is never reused).
PLANS: dict[int, Plan] = {}
_STATUS_COUNT = re.compile(r"(?:SELECT|UPDATE|DELETE|INSERT \d+|MERGE) (\d+)")
_NO_PARAMS: dict[str, Any] = {}


S = TypeVar("S", bound=Executable)


def prebuilt(statement: S) -> S:
    """Mark a statement built once at import as one the fast path may run."""
    PLANS[id(statement)] = Plan(statement, sys._getframe(1).f_globals.get("__name__", ""))
    return statement


class Unsupported(Exception):
    """The statement needs SQLAlchemy's execution (it is run there instead)."""


class Compiled(NamedTuple):
    sql: str
    binds: tuple[tuple[str, Any, Callable[[Any], Any] | None], ...]  # name, default, processor
    prefetch: tuple[tuple[str, Callable[[], Any]], ...]  # Python-side column defaults
    row: type[tuple[Any, ...]] | None  # None: no rows come back
    types: tuple[Any, ...]  # the SQLAlchemy type of each column returned
    processors: tuple[tuple[int, Callable[[Any], Any]], ...] | None  # None until the first run


_MISSING = object()


class Plan:
    """One prebuilt statement, compiled for PostgreSQL per set of parameter names."""

    __slots__ = ("_compiled", "module", "statement", "supported")

    def __init__(self, statement: Executable, module: str = "") -> None:
        self.statement: Any = statement
        self.module = module  # where it is defined
        self._compiled: dict[frozenset[str], Compiled] = {}
        self.supported = True

    def compiled(self, dialect: Dialect, keys: frozenset[str]) -> Compiled:
        found = self._compiled.get(keys)
        if found is None:
            found = self._compiled[keys] = self._compile(dialect, keys)
        return found

    def _compile(self, dialect: Dialect, keys: frozenset[str]) -> Compiled:
        # The parameters' names choose the columns of an INSERT or UPDATE given no VALUES; a
        # SELECT (with data-modifying CTEs) is compiled as written: a parameter named like a
        # column of one of its CTEs' tables must not add that column to the CTE's SET.
        dml = isinstance(self.statement, ValuesBase)
        compiled = self.statement.compile(dialect=dialect, column_keys=sorted(keys) if dml else None)
        assert isinstance(compiled, SQLCompiler)
        if "__[POSTCOMPILE" in compiled.string or compiled.positiontup is None:
            raise Unsupported("expanding or literal parameters")
        processors = compiled._bind_processors
        binds: list[tuple[str, Any, Any]] = []
        for name in compiled.positiontup:
            bind = compiled.binds[name]
            if bind.callable is not None:
                raise Unsupported("a parameter computed at execution")
            default = _MISSING if bind.required else bind.value
            binds.append((name, default, processors.get(name)))
        prefetch = []
        for column in (*compiled.insert_prefetch, *compiled.update_prefetch):
            default = column.default if column in compiled.insert_prefetch else column.onupdate
            if default is None or not (default.is_scalar or default.is_callable):
                raise Unsupported(f"the default of {column.key}")
            arg = default.arg  # type: ignore[attr-defined]
            prefetch.append((column.key, (lambda a=arg: a(None)) if default.is_callable
                             else (lambda a=arg: a)))
        columns = compiled._result_columns
        row = _row_class([entry[0] for entry in columns]) if columns else None
        return Compiled(compiled.string, tuple(binds), tuple(prefetch), row,
                        tuple(entry[3] for entry in columns), None)

    def processed(self, keys: frozenset[str], c: Compiled, dialect: Dialect,
                  attributes: Any) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
        """The result processors SQLAlchemy would apply (known once the driver has described
        the columns), kept with the compiled statement."""
        found = []
        for index, type_ in enumerate(c.types):
            oid = attributes[index].type.oid if index < len(attributes) else None
            process = type_._cached_result_processor(dialect, oid)
            if process is not None:
                found.append((index, process))
        processors = tuple(found)
        self._compiled[keys] = c._replace(processors=processors)
        return processors


def _row_class(names: list[str]) -> type[tuple[Any, ...]]:
    base = collections.namedtuple("Row", names, rename=True)  # type: ignore[misc]

    class Row(base):  # type: ignore[valid-type, misc]
        """A row as SQLAlchemy's Row offers it: by position, by attribute, as a mapping."""

        __slots__ = ()

        @property
        def _mapping(self) -> dict[str, Any]:
            return dict(zip(names, self, strict=True))

        def _tuple(self) -> tuple[Any, ...]:
            return tuple(self)

    return Row


def _arguments(c: Compiled, params: Mapping[str, Any]) -> list[Any]:
    if c.prefetch:
        params = {**{k: make() for k, make in c.prefetch}, **params}
    out = []
    for name, default, process in c.binds:
        value = params.get(name, default)
        if value is _MISSING:
            raise exc.ArgumentError(f"a value is required for the bind parameter {name!r}")
        out.append(value if process is None or value is None else process(value))
    return out


class Result:
    """What a prebuilt statement returned: the parts of SQLAlchemy's Result the hub uses."""

    __slots__ = ("_rows", "_status")

    def __init__(self, rows: list[Any], status: str | None) -> None:
        self._rows = rows
        self._status = status

    @property
    def rowcount(self) -> int:
        if self._status is None:
            return -1
        found = _STATUS_COUNT.match(self._status)
        return int(found.group(1)) if found else -1

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def all(self) -> list[Any]:
        return list(self._rows)

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def one_or_none(self) -> Any:
        if len(self._rows) > 1:
            raise exc.MultipleResultsFound("Multiple rows were found when one or none was required")
        return self.first()

    def one(self) -> Any:
        if not self._rows:
            raise exc.NoResultFound("No row was found when one was required")
        return self.one_or_none()

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalar_one_or_none(self) -> Any:
        row = self.one_or_none()
        return None if row is None else row[0]

    def scalars(self) -> Result:
        return _Values([row[0] for row in self._rows], self._status)

    def mappings(self) -> Result:
        return _Values([row._mapping for row in self._rows], self._status)


class _Values(Result):
    """`scalars()` and `mappings()`: each row is one value."""

    __slots__ = ()

    def scalar(self) -> Any:
        return self.first()


class Driver(NamedTuple):
    transaction: Any  # the session's root transaction this connection belongs to
    connection: AsyncConnection
    adapted: Any  # SQLAlchemy's asyncpg adaptor (its transaction, mutex and error mapping)


def usable(adapted: Any) -> bool:
    """The adaptor has what the fast path relies on (SQLAlchemy 2.0/2.1's asyncpg adaptor)."""
    return all(hasattr(adapted, name) for name in
               ("_connection", "_transaction", "_start_transaction", "_execute_mutex",
                "_handle_exception", "_prepare"))


class HubSession(AsyncSession):
    """The hub's session: prebuilt statements run on the driver on PostgreSQL."""

    _driver: Driver | None = None
    _fast: bool | None = None  # None: not yet known for this session's bind
    # Each statement is atomic by itself (one write, perhaps after reads that only check):
    # run them outside a transaction block, PostgreSQL commits each alone (BEGIN and COMMIT
    # are two round trips fewer). See dispatch.work.statements_alone.
    autocommit = False

    async def execute(self, statement: Any, params: Any = None, **kw: Any) -> Any:  # type: ignore[override]
        plan = PLANS.get(id(statement))
        if plan is None or kw or self._fast is False or not plan.supported:
            return await super().execute(statement, params, **kw)
        driver = await self._driver_connection()
        if driver is None:
            return await super().execute(statement, params, **kw)
        try:
            return await run(plan, driver, params, autocommit=self.autocommit)
        except Unsupported:
            plan.supported = False
            return await super().execute(statement, params, **kw)

    async def commit(self) -> None:
        self.autocommit = False  # a unit of work's statements alone: that unit only
        await super().commit()

    async def rollback(self) -> None:
        self.autocommit = False
        await super().rollback()

    def _holds_nothing(self) -> bool:
        sync = self.sync_session
        return not (sync.in_transaction() or sync.identity_map or sync.new or sync.deleted)

    async def close(self) -> None:
        """Close, unless there is nothing to close (a session that committed and loaded no
        objects, or never began): SQLAlchemy would spend a task and a greenlet on it."""
        if not self._holds_nothing():
            await super().close()

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        if not self._holds_nothing():
            await super().__aexit__(type_, value, traceback)

    async def _driver_connection(self) -> Driver | None:
        transaction = self.sync_session.get_transaction()
        driver = self._driver
        if driver is not None and transaction is driver.transaction and transaction is not None \
                and transaction.is_active:
            return driver
        if self._fast is None:
            self._fast = self.get_bind().dialect.driver == "asyncpg"
            if not self._fast:
                return None
        connection = await self.connection()
        adapted = (await connection.get_raw_connection()).dbapi_connection
        if not usable(adapted):
            self._fast = False
            return None
        self._driver = Driver(self.sync_session.get_transaction(), connection, adapted)
        return self._driver


async def run(plan: Plan, driver: Driver, params: Any, *, autocommit: bool = False) -> Result:
    dialect = driver.connection.dialect
    many = isinstance(params, Sequence) and not isinstance(params, Mapping)
    first = (params[0] if many else params) or _NO_PARAMS
    keys = frozenset(first)
    c = plan.compiled(dialect, keys)
    adapted = driver.adapted
    async with adapted._execute_mutex:
        if adapted._transaction is None and not autocommit:
            await adapted._start_transaction()
        try:
            if many:
                await adapted._connection.executemany(c.sql, [_arguments(c, p) for p in params])
                return Result([], None)
            prepared, attributes = await adapted._prepare(
                c.sql, dialect._invalidate_schema_cache_asof)  # type: ignore[attr-defined]
            records = await prepared.fetch(*_arguments(c, first))
            status = prepared.get_statusmsg()
        except exc.ArgumentError:
            raise
        except Exception as error:
            await _raise_translated(error, c.sql, driver)
    if c.row is None:
        return Result([], status)
    processors = c.processors
    if processors is None:
        processors = plan.processed(keys, c, dialect, attributes)
    make = c.row._make  # type: ignore[attr-defined]
    if not processors:
        return Result([make(r) for r in records], status)
    rows = []
    for record in records:
        values = list(record)
        for index, process in processors:
            if values[index] is not None:
                values[index] = process(values[index])
        rows.append(make(values))
    return Result(rows, status)


async def _raise_translated(error: Exception, sql: str, driver: Driver) -> NoReturn:
    """Raise what SQLAlchemy would: its exception class, and a lost connection invalidated."""
    dialect = driver.connection.dialect
    try:
        driver.adapted._handle_exception(error)
    except Exception as dbapi_error:  # the driver-neutral DB-API error
        invalid = dialect.is_disconnect(dbapi_error, driver.adapted, None)  # type: ignore[arg-type]
        if invalid:
            await driver.connection.invalidate()
        raise exc.DBAPIError.instance(
            sql, None, dbapi_error, dialect.loaded_dbapi.Error,
            hide_parameters=True, connection_invalidated=invalid, dialect=dialect,
        ) from error
    raise error
