-- Custom SQL migration (drizzle-kit generate --custom).
-- Every appliance on this database reloads its configuration when another changes it: a change to
-- the tables the configuration is read from notifies channel gatehouse_config (with the table's
-- name), which each appliance LISTENs on (app/db/store.ts, watch). Notifications are sent at commit.
CREATE FUNCTION gatehouse_config_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('gatehouse_config', TG_TABLE_NAME);
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER settings_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON settings FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_config_changed();
--> statement-breakpoint
CREATE TRIGGER radius_clients_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON radius_clients FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_config_changed();
--> statement-breakpoint
CREATE TRIGGER fixed_client_state_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON fixed_client_state FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_config_changed();
--> statement-breakpoint
CREATE TRIGGER downstream_servers_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON downstream_servers FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_config_changed();
--> statement-breakpoint
CREATE TRIGGER policy_rules_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON policy_rules FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_config_changed();
