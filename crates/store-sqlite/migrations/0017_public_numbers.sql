-- Public numbers: the stable integer ids older clients speak (seed 000's
-- `customer_id`, `charger_id`, `app_ID`, ...; seed 003's `location(id: 755)`).
-- The canonical API keeps its UUIDs; a face that speaks numbers maps them
-- here. A number is assigned once, when the row is inserted (the triggers
-- below), counted per kind from 1, and never reused: the mapping row outlives
-- its resource and the counter only grows. Rows that existed before this
-- migration are numbered in the order they were created.

CREATE TABLE public_numbers (
    kind   TEXT NOT NULL,
    number INTEGER NOT NULL,
    ref    TEXT NOT NULL,
    PRIMARY KEY (kind, number),
    UNIQUE (kind, ref)
) STRICT;

-- The last number given per kind. SQLite has one writer, so a counter row
-- serializes nothing that was not already serialized.
CREATE TABLE public_number_counters (
    kind TEXT PRIMARY KEY NOT NULL,
    last INTEGER NOT NULL
) STRICT;

INSERT INTO public_numbers (kind, number, ref)
    SELECT 'account', ROW_NUMBER() OVER (ORDER BY created_at, rowid), users.id FROM users;
INSERT INTO public_number_counters (kind, last)
    SELECT 'account', COALESCE(MAX(number), 0) FROM public_numbers WHERE kind = 'account';
CREATE TRIGGER users_public_number AFTER INSERT ON users
    WHEN NOT EXISTS (SELECT 1 FROM public_numbers WHERE kind = 'account' AND ref = NEW.id)
BEGIN
    UPDATE public_number_counters SET last = last + 1 WHERE kind = 'account';
    INSERT INTO public_numbers (kind, number, ref)
        SELECT 'account', last, NEW.id FROM public_number_counters WHERE kind = 'account';
END;

INSERT INTO public_numbers (kind, number, ref)
    SELECT 'site', ROW_NUMBER() OVER (ORDER BY created_at, rowid), sites.id FROM sites;
INSERT INTO public_number_counters (kind, last)
    SELECT 'site', COALESCE(MAX(number), 0) FROM public_numbers WHERE kind = 'site';
CREATE TRIGGER sites_public_number AFTER INSERT ON sites
    WHEN NOT EXISTS (SELECT 1 FROM public_numbers WHERE kind = 'site' AND ref = NEW.id)
BEGIN
    UPDATE public_number_counters SET last = last + 1 WHERE kind = 'site';
    INSERT INTO public_numbers (kind, number, ref)
        SELECT 'site', last, NEW.id FROM public_number_counters WHERE kind = 'site';
END;

INSERT INTO public_numbers (kind, number, ref)
    SELECT 'evse', ROW_NUMBER() OVER (ORDER BY created_at, rowid), evses.id FROM evses;
INSERT INTO public_number_counters (kind, last)
    SELECT 'evse', COALESCE(MAX(number), 0) FROM public_numbers WHERE kind = 'evse';
CREATE TRIGGER evses_public_number AFTER INSERT ON evses
    WHEN NOT EXISTS (SELECT 1 FROM public_numbers WHERE kind = 'evse' AND ref = NEW.id)
BEGIN
    UPDATE public_number_counters SET last = last + 1 WHERE kind = 'evse';
    INSERT INTO public_numbers (kind, number, ref)
        SELECT 'evse', last, NEW.id FROM public_number_counters WHERE kind = 'evse';
END;

INSERT INTO public_numbers (kind, number, ref)
    SELECT 'photo', ROW_NUMBER() OVER (ORDER BY created_at, rowid), site_photos.id FROM site_photos;
INSERT INTO public_number_counters (kind, last)
    SELECT 'photo', COALESCE(MAX(number), 0) FROM public_numbers WHERE kind = 'photo';
CREATE TRIGGER site_photos_public_number AFTER INSERT ON site_photos
    WHEN NOT EXISTS (SELECT 1 FROM public_numbers WHERE kind = 'photo' AND ref = NEW.id)
BEGIN
    UPDATE public_number_counters SET last = last + 1 WHERE kind = 'photo';
    INSERT INTO public_numbers (kind, number, ref)
        SELECT 'photo', last, NEW.id FROM public_number_counters WHERE kind = 'photo';
END;

INSERT INTO public_numbers (kind, number, ref)
    SELECT 'nearby', ROW_NUMBER() OVER (ORDER BY created_at, rowid), nearby_places.id FROM nearby_places;
INSERT INTO public_number_counters (kind, last)
    SELECT 'nearby', COALESCE(MAX(number), 0) FROM public_numbers WHERE kind = 'nearby';
CREATE TRIGGER nearby_places_public_number AFTER INSERT ON nearby_places
    WHEN NOT EXISTS (SELECT 1 FROM public_numbers WHERE kind = 'nearby' AND ref = NEW.id)
BEGIN
    UPDATE public_number_counters SET last = last + 1 WHERE kind = 'nearby';
    INSERT INTO public_numbers (kind, number, ref)
        SELECT 'nearby', last, NEW.id FROM public_number_counters WHERE kind = 'nearby';
END;

INSERT INTO public_numbers (kind, number, ref)
    SELECT 'bookmark', ROW_NUMBER() OVER (ORDER BY created_at, rowid), bookmarks.user_id || ':' || bookmarks.site_id FROM bookmarks;
INSERT INTO public_number_counters (kind, last)
    SELECT 'bookmark', COALESCE(MAX(number), 0) FROM public_numbers WHERE kind = 'bookmark';
CREATE TRIGGER bookmarks_public_number AFTER INSERT ON bookmarks
    WHEN NOT EXISTS (SELECT 1 FROM public_numbers WHERE kind = 'bookmark' AND ref = NEW.user_id || ':' || NEW.site_id)
BEGIN
    UPDATE public_number_counters SET last = last + 1 WHERE kind = 'bookmark';
    INSERT INTO public_numbers (kind, number, ref)
        SELECT 'bookmark', last, NEW.user_id || ':' || NEW.site_id FROM public_number_counters WHERE kind = 'bookmark';
END;

INSERT INTO public_numbers (kind, number, ref)
    SELECT 'booking', ROW_NUMBER() OVER (ORDER BY created_at, rowid), bookings.id FROM bookings;
INSERT INTO public_number_counters (kind, last)
    SELECT 'booking', COALESCE(MAX(number), 0) FROM public_numbers WHERE kind = 'booking';
CREATE TRIGGER bookings_public_number AFTER INSERT ON bookings
    WHEN NOT EXISTS (SELECT 1 FROM public_numbers WHERE kind = 'booking' AND ref = NEW.id)
BEGIN
    UPDATE public_number_counters SET last = last + 1 WHERE kind = 'booking';
    INSERT INTO public_numbers (kind, number, ref)
        SELECT 'booking', last, NEW.id FROM public_number_counters WHERE kind = 'booking';
END;

INSERT INTO public_numbers (kind, number, ref)
    SELECT 'vehicle', ROW_NUMBER() OVER (ORDER BY created_at, rowid), vehicles.id FROM vehicles;
INSERT INTO public_number_counters (kind, last)
    SELECT 'vehicle', COALESCE(MAX(number), 0) FROM public_numbers WHERE kind = 'vehicle';
CREATE TRIGGER vehicles_public_number AFTER INSERT ON vehicles
    WHEN NOT EXISTS (SELECT 1 FROM public_numbers WHERE kind = 'vehicle' AND ref = NEW.id)
BEGIN
    UPDATE public_number_counters SET last = last + 1 WHERE kind = 'vehicle';
    INSERT INTO public_numbers (kind, number, ref)
        SELECT 'vehicle', last, NEW.id FROM public_number_counters WHERE kind = 'vehicle';
END;

INSERT INTO public_numbers (kind, number, ref)
    SELECT 'bill', ROW_NUMBER() OVER (ORDER BY created_at, rowid), bills.id FROM bills;
INSERT INTO public_number_counters (kind, last)
    SELECT 'bill', COALESCE(MAX(number), 0) FROM public_numbers WHERE kind = 'bill';
CREATE TRIGGER bills_public_number AFTER INSERT ON bills
    WHEN NOT EXISTS (SELECT 1 FROM public_numbers WHERE kind = 'bill' AND ref = NEW.id)
BEGIN
    UPDATE public_number_counters SET last = last + 1 WHERE kind = 'bill';
    INSERT INTO public_numbers (kind, number, ref)
        SELECT 'bill', last, NEW.id FROM public_number_counters WHERE kind = 'bill';
END;

INSERT INTO public_numbers (kind, number, ref)
    SELECT 'purchase', ROW_NUMBER() OVER (ORDER BY created_at, rowid), purchases.id FROM purchases;
INSERT INTO public_number_counters (kind, last)
    SELECT 'purchase', COALESCE(MAX(number), 0) FROM public_numbers WHERE kind = 'purchase';
CREATE TRIGGER purchases_public_number AFTER INSERT ON purchases
    WHEN NOT EXISTS (SELECT 1 FROM public_numbers WHERE kind = 'purchase' AND ref = NEW.id)
BEGIN
    UPDATE public_number_counters SET last = last + 1 WHERE kind = 'purchase';
    INSERT INTO public_numbers (kind, number, ref)
        SELECT 'purchase', last, NEW.id FROM public_number_counters WHERE kind = 'purchase';
END;

INSERT INTO public_numbers (kind, number, ref)
    SELECT 'notification', ROW_NUMBER() OVER (ORDER BY created_at, rowid), notifications.id FROM notifications;
INSERT INTO public_number_counters (kind, last)
    SELECT 'notification', COALESCE(MAX(number), 0) FROM public_numbers WHERE kind = 'notification';
CREATE TRIGGER notifications_public_number AFTER INSERT ON notifications
    WHEN NOT EXISTS (SELECT 1 FROM public_numbers WHERE kind = 'notification' AND ref = NEW.id)
BEGIN
    UPDATE public_number_counters SET last = last + 1 WHERE kind = 'notification';
    INSERT INTO public_numbers (kind, number, ref)
        SELECT 'notification', last, NEW.id FROM public_number_counters WHERE kind = 'notification';
END;

INSERT INTO public_numbers (kind, number, ref)
    SELECT 'coupon', ROW_NUMBER() OVER (ORDER BY created_at, rowid), coupons.id FROM coupons;
INSERT INTO public_number_counters (kind, last)
    SELECT 'coupon', COALESCE(MAX(number), 0) FROM public_numbers WHERE kind = 'coupon';
CREATE TRIGGER coupons_public_number AFTER INSERT ON coupons
    WHEN NOT EXISTS (SELECT 1 FROM public_numbers WHERE kind = 'coupon' AND ref = NEW.id)
BEGIN
    UPDATE public_number_counters SET last = last + 1 WHERE kind = 'coupon';
    INSERT INTO public_numbers (kind, number, ref)
        SELECT 'coupon', last, NEW.id FROM public_number_counters WHERE kind = 'coupon';
END;

INSERT INTO public_numbers (kind, number, ref)
    SELECT 'banner', ROW_NUMBER() OVER (ORDER BY created_at, rowid), banners.id FROM banners;
INSERT INTO public_number_counters (kind, last)
    SELECT 'banner', COALESCE(MAX(number), 0) FROM public_numbers WHERE kind = 'banner';
CREATE TRIGGER banners_public_number AFTER INSERT ON banners
    WHEN NOT EXISTS (SELECT 1 FROM public_numbers WHERE kind = 'banner' AND ref = NEW.id)
BEGIN
    UPDATE public_number_counters SET last = last + 1 WHERE kind = 'banner';
    INSERT INTO public_numbers (kind, number, ref)
        SELECT 'banner', last, NEW.id FROM public_number_counters WHERE kind = 'banner';
END;
