-- The change feed of what drivers' search sees: every committed change to a
-- site, its EVSEs, or the live state of a charge point linked to an EVSE
-- leaves a row here, written by triggers in the changing transaction (so no
-- write path can forget it). Each node's in-memory search index reads the
-- rows after the last one it applied before it answers a search, so a
-- search sees every change committed before it began, on whichever node the
-- change was made (docs/search.md). Sequence numbers can commit out of
-- order here; the reader keeps gaps open for a while (search_index.rs).
CREATE TABLE network_changes (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id         TEXT,
    charge_point_id TEXT
);

CREATE FUNCTION network_changes_site() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO network_changes (site_id) VALUES (OLD.id);
    ELSE
        INSERT INTO network_changes (site_id) VALUES (NEW.id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER network_changes_site AFTER INSERT OR UPDATE OR DELETE ON sites
    FOR EACH ROW EXECUTE FUNCTION network_changes_site();

CREATE FUNCTION network_changes_evse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO network_changes (site_id) VALUES (OLD.site_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND (TG_OP = 'INSERT' OR OLD.site_id <> NEW.site_id) THEN
        INSERT INTO network_changes (site_id) VALUES (NEW.site_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER network_changes_evse AFTER INSERT OR UPDATE OR DELETE ON evses
    FOR EACH ROW EXECUTE FUNCTION network_changes_evse();

-- Live state: a connector's status and its charger's connection. Only real
-- changes are logged (a charger repeating its status writes nothing here).
CREATE FUNCTION network_changes_charge_point() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'connectors' THEN
        INSERT INTO network_changes (charge_point_id) VALUES (NEW.charge_point_id);
    ELSE
        INSERT INTO network_changes (charge_point_id) VALUES (NEW.id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER network_changes_connector_insert AFTER INSERT ON connectors
    FOR EACH ROW EXECUTE FUNCTION network_changes_charge_point();
CREATE TRIGGER network_changes_connector_update AFTER UPDATE OF status ON connectors
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION network_changes_charge_point();
CREATE TRIGGER network_changes_charge_point_update AFTER UPDATE OF connected ON charge_points
    FOR EACH ROW WHEN (OLD.connected IS DISTINCT FROM NEW.connected)
    EXECUTE FUNCTION network_changes_charge_point();
