-- Public numbers: the stable integer ids older clients speak (seed 000's
-- `customer_id`, `charger_id`, `app_ID`, ...; seed 003's `location(id: 755)`).
-- The canonical API keeps its UUIDs; a face that speaks numbers maps them
-- here. A number is assigned once, when the row is inserted (the triggers
-- below), counted per kind from 1, and never reused: the mapping row outlives
-- its resource and the counter only grows. Rows that existed before this
-- migration are numbered in the order they were created.

CREATE TABLE public_numbers (
    kind   TEXT NOT NULL,
    number BIGINT NOT NULL,
    ref    TEXT NOT NULL,
    PRIMARY KEY (kind, number),
    UNIQUE (kind, ref)
);

-- One sequence per kind: nextval never blocks a concurrent writer and never
-- hands out a number twice, even when the transaction that took it rolls back.
CREATE FUNCTION assign_public_number() RETURNS trigger AS $$
DECLARE
    r TEXT;
BEGIN
    IF TG_TABLE_NAME = 'bookmarks' THEN
        r := NEW.user_id || ':' || NEW.site_id;
    ELSE
        r := NEW.id::text;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM public_numbers WHERE kind = TG_ARGV[0] AND ref = r) THEN
        INSERT INTO public_numbers (kind, number, ref)
        VALUES (TG_ARGV[0], nextval('public_number_' || TG_ARGV[0]), r)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE SEQUENCE public_number_account;
INSERT INTO public_numbers (kind, number, ref)
    SELECT 'account', ROW_NUMBER() OVER (ORDER BY created_at, users.id), users.id FROM users;
SELECT setval('public_number_account', COALESCE((SELECT MAX(number) FROM public_numbers WHERE kind = 'account'), 0) + 1, false);
CREATE TRIGGER users_public_number AFTER INSERT ON users
    FOR EACH ROW EXECUTE FUNCTION assign_public_number('account');

CREATE SEQUENCE public_number_site;
INSERT INTO public_numbers (kind, number, ref)
    SELECT 'site', ROW_NUMBER() OVER (ORDER BY created_at, sites.id), sites.id FROM sites;
SELECT setval('public_number_site', COALESCE((SELECT MAX(number) FROM public_numbers WHERE kind = 'site'), 0) + 1, false);
CREATE TRIGGER sites_public_number AFTER INSERT ON sites
    FOR EACH ROW EXECUTE FUNCTION assign_public_number('site');

CREATE SEQUENCE public_number_evse;
INSERT INTO public_numbers (kind, number, ref)
    SELECT 'evse', ROW_NUMBER() OVER (ORDER BY created_at, evses.id), evses.id FROM evses;
SELECT setval('public_number_evse', COALESCE((SELECT MAX(number) FROM public_numbers WHERE kind = 'evse'), 0) + 1, false);
CREATE TRIGGER evses_public_number AFTER INSERT ON evses
    FOR EACH ROW EXECUTE FUNCTION assign_public_number('evse');

CREATE SEQUENCE public_number_photo;
INSERT INTO public_numbers (kind, number, ref)
    SELECT 'photo', ROW_NUMBER() OVER (ORDER BY created_at, site_photos.id), site_photos.id FROM site_photos;
SELECT setval('public_number_photo', COALESCE((SELECT MAX(number) FROM public_numbers WHERE kind = 'photo'), 0) + 1, false);
CREATE TRIGGER site_photos_public_number AFTER INSERT ON site_photos
    FOR EACH ROW EXECUTE FUNCTION assign_public_number('photo');

CREATE SEQUENCE public_number_nearby;
INSERT INTO public_numbers (kind, number, ref)
    SELECT 'nearby', ROW_NUMBER() OVER (ORDER BY created_at, nearby_places.id), nearby_places.id FROM nearby_places;
SELECT setval('public_number_nearby', COALESCE((SELECT MAX(number) FROM public_numbers WHERE kind = 'nearby'), 0) + 1, false);
CREATE TRIGGER nearby_places_public_number AFTER INSERT ON nearby_places
    FOR EACH ROW EXECUTE FUNCTION assign_public_number('nearby');

CREATE SEQUENCE public_number_bookmark;
INSERT INTO public_numbers (kind, number, ref)
    SELECT 'bookmark', ROW_NUMBER() OVER (ORDER BY created_at, bookmarks.user_id || ':' || bookmarks.site_id), bookmarks.user_id || ':' || bookmarks.site_id FROM bookmarks;
SELECT setval('public_number_bookmark', COALESCE((SELECT MAX(number) FROM public_numbers WHERE kind = 'bookmark'), 0) + 1, false);
CREATE TRIGGER bookmarks_public_number AFTER INSERT ON bookmarks
    FOR EACH ROW EXECUTE FUNCTION assign_public_number('bookmark');

CREATE SEQUENCE public_number_booking;
INSERT INTO public_numbers (kind, number, ref)
    SELECT 'booking', ROW_NUMBER() OVER (ORDER BY created_at, bookings.id), bookings.id FROM bookings;
SELECT setval('public_number_booking', COALESCE((SELECT MAX(number) FROM public_numbers WHERE kind = 'booking'), 0) + 1, false);
CREATE TRIGGER bookings_public_number AFTER INSERT ON bookings
    FOR EACH ROW EXECUTE FUNCTION assign_public_number('booking');

CREATE SEQUENCE public_number_vehicle;
INSERT INTO public_numbers (kind, number, ref)
    SELECT 'vehicle', ROW_NUMBER() OVER (ORDER BY created_at, vehicles.id), vehicles.id FROM vehicles;
SELECT setval('public_number_vehicle', COALESCE((SELECT MAX(number) FROM public_numbers WHERE kind = 'vehicle'), 0) + 1, false);
CREATE TRIGGER vehicles_public_number AFTER INSERT ON vehicles
    FOR EACH ROW EXECUTE FUNCTION assign_public_number('vehicle');

CREATE SEQUENCE public_number_bill;
INSERT INTO public_numbers (kind, number, ref)
    SELECT 'bill', ROW_NUMBER() OVER (ORDER BY created_at, bills.id), bills.id FROM bills;
SELECT setval('public_number_bill', COALESCE((SELECT MAX(number) FROM public_numbers WHERE kind = 'bill'), 0) + 1, false);
CREATE TRIGGER bills_public_number AFTER INSERT ON bills
    FOR EACH ROW EXECUTE FUNCTION assign_public_number('bill');

CREATE SEQUENCE public_number_purchase;
INSERT INTO public_numbers (kind, number, ref)
    SELECT 'purchase', ROW_NUMBER() OVER (ORDER BY created_at, purchases.id), purchases.id FROM purchases;
SELECT setval('public_number_purchase', COALESCE((SELECT MAX(number) FROM public_numbers WHERE kind = 'purchase'), 0) + 1, false);
CREATE TRIGGER purchases_public_number AFTER INSERT ON purchases
    FOR EACH ROW EXECUTE FUNCTION assign_public_number('purchase');

CREATE SEQUENCE public_number_notification;
INSERT INTO public_numbers (kind, number, ref)
    SELECT 'notification', ROW_NUMBER() OVER (ORDER BY created_at, notifications.id), notifications.id FROM notifications;
SELECT setval('public_number_notification', COALESCE((SELECT MAX(number) FROM public_numbers WHERE kind = 'notification'), 0) + 1, false);
CREATE TRIGGER notifications_public_number AFTER INSERT ON notifications
    FOR EACH ROW EXECUTE FUNCTION assign_public_number('notification');

CREATE SEQUENCE public_number_coupon;
INSERT INTO public_numbers (kind, number, ref)
    SELECT 'coupon', ROW_NUMBER() OVER (ORDER BY created_at, coupons.id), coupons.id FROM coupons;
SELECT setval('public_number_coupon', COALESCE((SELECT MAX(number) FROM public_numbers WHERE kind = 'coupon'), 0) + 1, false);
CREATE TRIGGER coupons_public_number AFTER INSERT ON coupons
    FOR EACH ROW EXECUTE FUNCTION assign_public_number('coupon');

CREATE SEQUENCE public_number_banner;
INSERT INTO public_numbers (kind, number, ref)
    SELECT 'banner', ROW_NUMBER() OVER (ORDER BY created_at, banners.id), banners.id FROM banners;
SELECT setval('public_number_banner', COALESCE((SELECT MAX(number) FROM public_numbers WHERE kind = 'banner'), 0) + 1, false);
CREATE TRIGGER banners_public_number AFTER INSERT ON banners
    FOR EACH ROW EXECUTE FUNCTION assign_public_number('banner');
