-- The board's database privilege model: the ONE definition both deployments apply.
--   * servers: the postgresql role runs it (community.postgresql.postgresql_query) after creating
--     the roles and the database;
--   * containers: docker/db/initdb.sh runs it with psql at the database's first start.
-- Run as a superuser, connected to the application database, with these settings in the session
-- (PGOPTIONS="-c board.owner_role=... -c ..."); nothing here names a role or holds a password:
--   board.owner_role, board.runtime_role                 the two login roles (they must exist)
--   board.owner_conn_limit, board.runtime_conn_limit     connection limits
--   board.owner_lock_timeout                             lock wait of migrations
--   board.runtime_statement_timeout, board.runtime_idle_in_transaction_session_timeout,
--   board.runtime_lock_timeout                           session limits of the application
-- Re-running it changes nothing; its last statement answers whether this run changed anything.

-- Everything this file controls, as one text: compared before and after to report a change.
CREATE FUNCTION pg_temp.board_privilege_state() RETURNS text
LANGUAGE sql STABLE AS $state$
  SELECT concat_ws(E'\n',
    (SELECT string_agg(concat_ws('|', rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb,
                                 rolcanlogin, rolreplication, rolbypassrls, rolconnlimit,
                                 array_to_string(rolconfig, ',')), E'\n' ORDER BY rolname)
       FROM pg_catalog.pg_roles
      WHERE rolname IN (current_setting('board.owner_role'), current_setting('board.runtime_role'))),
    (SELECT concat_ws('|', datdba::regrole, datacl) FROM pg_catalog.pg_database
      WHERE datname = current_database()),
    (SELECT concat_ws('|', nspname, nspowner::regrole, nspacl) FROM pg_catalog.pg_namespace
      WHERE nspname = 'public'),
    (SELECT string_agg(concat_ws('|', relname, relacl), E'\n' ORDER BY relname)
       FROM pg_catalog.pg_class WHERE relnamespace = 'public'::regnamespace),
    (SELECT string_agg(concat_ws('|', defaclrole::regrole, defaclnamespace, defaclobjtype, defaclacl),
                       E'\n' ORDER BY defaclrole, defaclnamespace, defaclobjtype)
       FROM pg_catalog.pg_default_acl),
    (SELECT string_agg(concat_ws('|', evtname, evtevent, evtfoid::regproc, evtenabled, evttags),
                       E'\n' ORDER BY evtname)
       FROM pg_catalog.pg_event_trigger WHERE evtname LIKE 'board\_%'),
    (SELECT string_agg(concat_ws('|', p.oid::regprocedure, md5(p.prosrc), p.proacl), E'\n')
       FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'board_guard'),
    (SELECT concat_ws('|', nspowner::regrole, nspacl) FROM pg_catalog.pg_namespace
      WHERE nspname = 'board_guard'))
$state$;

DO $$ BEGIN
  PERFORM set_config('board.state_before', pg_temp.board_privilege_state(), false);
END $$;

-- The migration history is read-only for everyone but its owner: the readiness probe reads
-- django_migrations as the runtime role, and only migrations (as the owner) may write it.
-- Default privileges cannot exempt one table, so an event trigger takes the write privileges
-- back whenever the table is created (the first `migrate`) or anything is granted (the
-- GRANT ... ON ALL TABLES below included, so an existing database is fixed too).
CREATE SCHEMA IF NOT EXISTS board_guard;
REVOKE ALL ON SCHEMA board_guard FROM PUBLIC;

CREATE OR REPLACE FUNCTION board_guard.keep_migration_history_read_only() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $fn$
DECLARE
  history regclass := to_regclass('public.django_migrations');
  history_owner oid;
  grantee oid;
BEGIN
  IF history IS NULL THEN
    RETURN;
  END IF;
  SELECT relowner INTO history_owner FROM pg_class WHERE oid = history;
  -- Only its owner (a migration) or a superuser can revoke; anyone else's GRANT changed nothing.
  IF NOT (pg_has_role(current_user, history_owner, 'USAGE')
          OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)) THEN
    RETURN;
  END IF;
  FOR grantee IN
    SELECT DISTINCT a.grantee FROM pg_class c, aclexplode(c.relacl) a
     WHERE c.oid = history AND a.grantee <> c.relowner
       AND a.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')
  LOOP
    EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON %s FROM %s', history,
                   CASE WHEN grantee = 0 THEN 'PUBLIC' ELSE quote_ident(grantee::regrole::text) END);
  END LOOP;
END
$fn$;
REVOKE ALL ON FUNCTION board_guard.keep_migration_history_read_only() FROM PUBLIC;

DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_event_trigger
                  WHERE evtname = 'board_migration_history_read_only') THEN
    CREATE EVENT TRIGGER board_migration_history_read_only ON ddl_command_end
      WHEN TAG IN ('CREATE TABLE', 'GRANT')
      EXECUTE FUNCTION board_guard.keep_migration_history_read_only();
  END IF;
END $$;

-- Roles, database, schema public and their grants.
DO $$
DECLARE
  db      text := current_database();
  owner   text := current_setting('board.owner_role');
  runtime text := current_setting('board.runtime_role');
  flags   text := 'NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT LOGIN';
BEGIN
  -- The owner role: owns the database and schema public, used by migrations only. Migrations
  -- give up instead of queueing behind the application's locks (and blocking it meanwhile).
  EXECUTE format('ALTER ROLE %I %s CONNECTION LIMIT %s', owner, flags,
                 current_setting('board.owner_conn_limit')::int);
  EXECUTE format('ALTER ROLE %I SET lock_timeout = %L', owner,
                 current_setting('board.owner_lock_timeout'));
  -- The runtime role: the application; data privileges only, never an owner.
  EXECUTE format('ALTER ROLE %I %s CONNECTION LIMIT %s', runtime, flags,
                 current_setting('board.runtime_conn_limit')::int);
  EXECUTE format('ALTER ROLE %I SET statement_timeout = %L', runtime,
                 current_setting('board.runtime_statement_timeout'));
  EXECUTE format('ALTER ROLE %I SET idle_in_transaction_session_timeout = %L', runtime,
                 current_setting('board.runtime_idle_in_transaction_session_timeout'));
  EXECUTE format('ALTER ROLE %I SET lock_timeout = %L', runtime,
                 current_setting('board.runtime_lock_timeout'));

  EXECUTE format('ALTER DATABASE %I OWNER TO %I', db, owner);
  EXECUTE format('ALTER SCHEMA public OWNER TO %I', owner);
  -- Nobody else may connect, create schemas or temporary tables, or create in schema public.
  EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', db);
  REVOKE CREATE ON SCHEMA public FROM PUBLIC;

  EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', db, runtime);
  EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', runtime);
  -- DML on what exists (tables the owner migrated before this ran) ...
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %I',
                 runtime);
  EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %I', runtime);
  -- ... and on what the owner's migrations create later.
  EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public '
                 'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I', owner, runtime);
  EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public '
                 'GRANT USAGE, SELECT ON SEQUENCES TO %I', owner, runtime);
END $$;

SELECT pg_temp.board_privilege_state() IS DISTINCT FROM current_setting('board.state_before')
       AS changed;
