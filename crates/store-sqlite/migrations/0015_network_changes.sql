-- The change feed of what drivers' search sees: every committed change to a
-- site, its EVSEs, or the live state of a charge point linked to an EVSE
-- leaves a row here, written by triggers in the changing transaction (so no
-- write path can forget it). Each node's in-memory search index reads the
-- rows after the last one it applied before it answers a search, so a
-- search sees every change committed before it began, on whichever node the
-- change was made (docs/search.md). Old rows are pruned by the readers.
CREATE TABLE network_changes (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id         TEXT,
    charge_point_id TEXT
) STRICT;

CREATE TRIGGER network_changes_site_insert AFTER INSERT ON sites
BEGIN
    INSERT INTO network_changes (site_id) VALUES (NEW.id);
END;
CREATE TRIGGER network_changes_site_update AFTER UPDATE ON sites
BEGIN
    INSERT INTO network_changes (site_id) VALUES (NEW.id);
END;
CREATE TRIGGER network_changes_site_delete AFTER DELETE ON sites
BEGIN
    INSERT INTO network_changes (site_id) VALUES (OLD.id);
END;

CREATE TRIGGER network_changes_evse_insert AFTER INSERT ON evses
BEGIN
    INSERT INTO network_changes (site_id) VALUES (NEW.site_id);
END;
CREATE TRIGGER network_changes_evse_update AFTER UPDATE ON evses
BEGIN
    INSERT INTO network_changes (site_id) VALUES (NEW.site_id);
    INSERT INTO network_changes (site_id) SELECT OLD.site_id WHERE OLD.site_id <> NEW.site_id;
END;
CREATE TRIGGER network_changes_evse_delete AFTER DELETE ON evses
BEGIN
    INSERT INTO network_changes (site_id) VALUES (OLD.site_id);
END;

-- Live state: a connector's status and its charger's connection. Only real
-- changes are logged (a charger repeating its status writes nothing here).
CREATE TRIGGER network_changes_connector_insert AFTER INSERT ON connectors
BEGIN
    INSERT INTO network_changes (charge_point_id) VALUES (NEW.charge_point_id);
END;
CREATE TRIGGER network_changes_connector_update AFTER UPDATE OF status ON connectors
    WHEN OLD.status IS NOT NEW.status
BEGIN
    INSERT INTO network_changes (charge_point_id) VALUES (NEW.charge_point_id);
END;
CREATE TRIGGER network_changes_charge_point_update AFTER UPDATE OF connected ON charge_points
    WHEN OLD.connected IS NOT NEW.connected
BEGIN
    INSERT INTO network_changes (charge_point_id) VALUES (NEW.id);
END;
