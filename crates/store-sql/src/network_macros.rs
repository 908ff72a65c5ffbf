/// Implements `plugway_store::NetworkStore` for `$store`. Expand it beside
/// [`impl_sql_store!`] (it uses that macro's `Row` and `one_row`).
///
/// `$in_box` is the one backend-specific piece: a predicate on the site row
/// `s` that is true when the site lies in the box `$1` south, `$2` north,
/// `$3` west, `$4` east, answered from the backend's spatial index (an R*Tree
/// on SQLite, a GiST point index on PostgreSQL).
#[macro_export]
macro_rules! impl_sql_network_store {
    ($store:ty, $db:ty, $in_box:literal) => {
        const SITE_COLUMNS: &str = "id, host_id, name, address, city, province, region, postal_code, \
             country_code, lat, lng, time_zone, opening_hours, facilities, parking_types, \
             parking_restrictions, currency, brand_logo, published, approval, rejection_reason, \
             rating_sum, rating_count, visible, max_power_w, created_at, updated_at, roaming_operator, \
             (SELECT n.number FROM public_numbers n WHERE n.kind = 'site' AND n.ref = sites.id) AS number";
        const EVSE_COLUMNS: &str = "e.id, e.site_id, e.evse_code, e.serial_number, e.meter_type, \
             e.charge_point_id, e.ocpp_connector_id, e.declared_status, e.capabilities, e.payment_types, \
             e.price_per_kwh, e.price_per_hour, e.waiting_price_per_minute, e.connectors, e.approval, \
             e.rejection_reason, e.created_at, e.updated_at, c.status AS ocpp_status, \
             cp.connected AS charger_connected, \
             (SELECT n.number FROM public_numbers n WHERE n.kind = 'evse' AND n.ref = e.id) AS number";
        /// EVSEs with the live status of their OCPP connector.
        const EVSE_FROM: &str = "evses e \
             LEFT JOIN connectors c ON c.charge_point_id = e.charge_point_id AND c.connector_id = e.ocpp_connector_id \
             LEFT JOIN charge_points cp ON cp.id = e.charge_point_id";
        const PHOTO_COLUMNS: &str =
            "id, site_id, key, thumb_key, content_type, width, height, bytes, created_at";
        const NEARBY_COLUMNS: &str = "id, site_id, kind, name, image, address, created_at";
        const HOST_COLUMNS: &str = "user_id, owner_name, contact_name, contact_number, contact_email, \
             logo, party_id, country_code, ocpp_ready, created_at, updated_at";

        /// The filters the site row answers, after the spatial box (`$1`–`$4`).
        macro_rules! site_filters {
            () => {
                " AND s.visible = TRUE \
             AND (CAST($5 AS BIGINT) = 0 OR (s.standards & CAST($5 AS BIGINT)) <> 0) \
             AND (s.facilities & CAST($6 AS BIGINT)) = CAST($6 AS BIGINT) \
             AND (s.capabilities & CAST($7 AS BIGINT)) = CAST($7 AS BIGINT) \
             AND (CAST($8 AS BIGINT) = 0 OR (s.payment_types & CAST($8 AS BIGINT)) <> 0) \
             AND (CAST($9 AS BIGINT) = 0 OR (s.parking_types & CAST($9 AS BIGINT)) <> 0) \
             AND s.max_power_w >= CAST($10 AS BIGINT) \
             AND (CAST($11 AS TEXT) = '' OR lower(s.city) = CAST($11 AS TEXT)) \
             AND (CAST($12 AS TEXT) = '' OR lower(s.province) = CAST($12 AS TEXT)) \
             AND (CAST($13 AS TEXT) = '' OR s.search_text LIKE CAST($13 AS TEXT) ESCAPE '\\') \
             AND (CAST($14 AS TEXT) = '' OR s.search_text LIKE CAST($14 AS TEXT) ESCAPE '\\') \
             AND (CAST($15 AS TEXT) = '' OR s.search_text LIKE CAST($15 AS TEXT) ESCAPE '\\') \
             AND (CAST($16 AS TEXT) = '' OR s.search_text LIKE CAST($16 AS TEXT) ESCAPE '\\') \
             AND (CAST($17 AS TEXT) = '' OR s.search_text LIKE CAST($17 AS TEXT) ESCAPE '\\') \
             AND (CAST($18 AS DOUBLE PRECISION) <= 0 OR (s.rating_count > 0 \
                  AND s.rating_sum >= CAST($18 AS DOUBLE PRECISION) * s.rating_count)) \
             AND (CAST($19 AS BIGINT) = 0 OR EXISTS (SELECT 1 FROM evses e \
                  LEFT JOIN connectors c ON c.charge_point_id = e.charge_point_id AND c.connector_id = e.ocpp_connector_id \
                  LEFT JOIN charge_points cp ON cp.id = e.charge_point_id \
                  WHERE e.site_id = s.id AND e.approval = 'APPROVED' \
                  AND ((e.charge_point_id IS NULL AND e.declared_status = 'AVAILABLE') \
                       OR (cp.connected = TRUE AND c.status = 'Available')))) "
            };
        }

        /// Candidates: the spatial box first, then the filters the site row carries.
        const SEARCH_SQL: &str = concat!(
            "SELECT s.id, s.lat, s.lng, s.always_open, s.opening_hours, s.time_zone FROM sites s WHERE ",
            $in_box,
            site_filters!(),
            " LIMIT CAST($20 AS BIGINT)"
        );

        /// The same matches ranked by the squared unit-sphere chord to a
        /// centre (`$21`–`$23`), cut at `$24`, one page (`$20` rows from
        /// `$25`) with the total count of matches beside every row.
        const RANKED_SQL: &str = concat!(
            "SELECT id, lat, lng, d2, COUNT(*) OVER () AS total FROM (SELECT s.id, s.lat, s.lng, \
             (s.ux - CAST($21 AS DOUBLE PRECISION)) * (s.ux - CAST($21 AS DOUBLE PRECISION)) \
             + (s.uy - CAST($22 AS DOUBLE PRECISION)) * (s.uy - CAST($22 AS DOUBLE PRECISION)) \
             + (s.uz - CAST($23 AS DOUBLE PRECISION)) * (s.uz - CAST($23 AS DOUBLE PRECISION)) AS d2 \
             FROM sites s WHERE ",
            $in_box,
            site_filters!(),
            ") hits WHERE d2 <= CAST($24 AS DOUBLE PRECISION) ORDER BY d2, id \
             LIMIT CAST($20 AS BIGINT) OFFSET CAST($25 AS BIGINT)"
        );

        /// Binds a filter's `$1`–`$19` for one box.
        fn filter_binds<'q>(
            query: ::sqlx::query::Query<'q, $db, <$db as ::sqlx::Database>::Arguments<'q>>,
            filter: &::plugway_store::SiteFilter,
            b: &::plugway_domain::BoundingBox,
        ) -> ::sqlx::query::Query<'q, $db, <$db as ::sqlx::Database>::Arguments<'q>> {
            let mut query = query
                .bind(b.south)
                .bind(b.north)
                .bind(b.west)
                .bind(b.east)
                .bind(filter.standards_any)
                .bind(filter.facilities_all)
                .bind(filter.capabilities_all)
                .bind(filter.payment_types_any)
                .bind(filter.parking_types_any)
                .bind(filter.min_power_w)
                .bind(filter.city.as_deref().map(str::to_lowercase).unwrap_or_default())
                .bind(filter.province.as_deref().map(str::to_lowercase).unwrap_or_default());
            for i in 0..::plugway_store::SiteFilter::MAX_TERMS {
                let term = filter
                    .terms
                    .get(i)
                    .map(|t| format!("%{}%", $crate::like_escape(t)))
                    .unwrap_or_default();
                query = query.bind(term);
            }
            query
                .bind(filter.min_rating.unwrap_or(0.0))
                .bind(i64::from(filter.available_now))
        }

        /// The boxes a filter searches (the whole world when it names none).
        fn search_boxes(filter: &::plugway_store::SiteFilter) -> Vec<::plugway_domain::BoundingBox> {
            if filter.boxes.is_empty() {
                vec![::plugway_domain::BoundingBox { south: -90.0, west: -180.0, north: 90.0, east: 180.0 }]
            } else {
                filter.boxes.clone()
            }
        }

        fn stored<T>(what: &str, r: Result<T, ::plugway_domain::ValidationError>) -> ::plugway_store::Result<T> {
            r.map_err(|e| ::plugway_store::StoreError::Other(format!("stored {what} is invalid: {e}")))
        }

        fn network_change_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::NetworkChange> {
            use ::sqlx::Row as _;
            use $crate::map_err;
            let site: Option<String> = row.try_get("site_id").map_err(map_err)?;
            let charge_point: Option<String> = row.try_get("charge_point_id").map_err(map_err)?;
            Ok(::plugway_store::NetworkChange {
                seq: row.try_get("seq").map_err(map_err)?,
                site: match site {
                    Some(id) => Some(::plugway_domain::SiteId($crate::parse_uuid(&id)?)),
                    None => None,
                },
                // A stored id was valid when written; one that no longer
                // parses cannot be linked to an EVSE, so it changes nothing.
                charge_point: charge_point.and_then(|id| ::plugway_domain::ChargePointId::parse(&id).ok()),
            })
        }

        fn site_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::Site> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, map_err, parse_uuid};
            use ::plugway_domain::{ApprovalState, Coordinates, Currency, Facility, ParkingRestriction, ParkingType, SiteTimeZone};
            let hours: String = row.try_get("opening_hours").map_err(map_err)?;
            let approval: String = row.try_get("approval").map_err(map_err)?;
            let currency: String = row.try_get("currency").map_err(map_err)?;
            let zone: String = row.try_get("time_zone").map_err(map_err)?;
            Ok(::plugway_store::Site {
                number: row.try_get("number").map_err(map_err)?,
                id: ::plugway_domain::SiteId(parse_uuid(&row.try_get::<String, _>("id").map_err(map_err)?)?),
                host_id: ::plugway_domain::UserId(parse_uuid(&row.try_get::<String, _>("host_id").map_err(map_err)?)?),
                fields: ::plugway_store::SiteFields {
                    name: row.try_get("name").map_err(map_err)?,
                    address: row.try_get("address").map_err(map_err)?,
                    city: row.try_get("city").map_err(map_err)?,
                    province: row.try_get("province").map_err(map_err)?,
                    region: row.try_get("region").map_err(map_err)?,
                    postal_code: row.try_get("postal_code").map_err(map_err)?,
                    country_code: row.try_get("country_code").map_err(map_err)?,
                    coordinates: stored("coordinates", Coordinates::new(
                        row.try_get("lat").map_err(map_err)?,
                        row.try_get("lng").map_err(map_err)?,
                    ))?,
                    time_zone: stored("time zone", SiteTimeZone::parse(&zone))?,
                    opening_hours: ::serde_json::from_str(&hours)
                        .map_err(|e| ::plugway_store::StoreError::Other(format!("stored opening hours: {e}")))?,
                    facilities: Facility::from_mask(row.try_get("facilities").map_err(map_err)?),
                    parking_types: ParkingType::from_mask(row.try_get("parking_types").map_err(map_err)?),
                    parking_restrictions: ParkingRestriction::from_mask(
                        row.try_get("parking_restrictions").map_err(map_err)?,
                    ),
                    currency: stored("currency", Currency::parse(&currency))?,
                    published: row.try_get("published").map_err(map_err)?,
                },
                brand_logo: row.try_get("brand_logo").map_err(map_err)?,
                approval: stored("approval", ApprovalState::parse("approval", &approval))?,
                rejection_reason: row.try_get("rejection_reason").map_err(map_err)?,
                rating_sum: row.try_get("rating_sum").map_err(map_err)?,
                rating_count: row.try_get("rating_count").map_err(map_err)?,
                visible: row.try_get("visible").map_err(map_err)?,
                max_power_w: row.try_get("max_power_w").map_err(map_err)?,
                partner: row
                    .try_get::<Option<String>, _>("roaming_operator")
                    .map_err(map_err)?
                    .map(|text| ::serde_json::from_str(&text))
                    .transpose()
                    .map_err(|e| ::plugway_store::StoreError::Other(format!("stored roaming operator: {e}")))?,
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
                updated_at: from_ms(row.try_get("updated_at").map_err(map_err)?),
            })
        }

        fn evse_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::Evse> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, map_err, parse_uuid};
            use ::plugway_domain::{ApprovalState, Capability, EvseStatus, PaymentType};
            let connectors: String = row.try_get("connectors").map_err(map_err)?;
            let approval: String = row.try_get("approval").map_err(map_err)?;
            let declared: String = row.try_get("declared_status").map_err(map_err)?;
            let charge_point: Option<String> = row.try_get("charge_point_id").map_err(map_err)?;
            let connected: Option<bool> = row.try_get("charger_connected").map_err(map_err)?;
            Ok(::plugway_store::Evse {
                number: row.try_get("number").map_err(map_err)?,
                id: ::plugway_domain::EvseId(parse_uuid(&row.try_get::<String, _>("id").map_err(map_err)?)?),
                site_id: ::plugway_domain::SiteId(parse_uuid(&row.try_get::<String, _>("site_id").map_err(map_err)?)?),
                fields: ::plugway_store::EvseFields {
                    evse_code: row.try_get("evse_code").map_err(map_err)?,
                    serial_number: row.try_get("serial_number").map_err(map_err)?,
                    meter_type: row.try_get("meter_type").map_err(map_err)?,
                    charge_point_id: charge_point.map(::plugway_domain::ChargePointId::from_stored),
                    ocpp_connector_id: row.try_get("ocpp_connector_id").map_err(map_err)?,
                    declared_status: stored("status", EvseStatus::parse("declared_status", &declared))?,
                    capabilities: Capability::from_mask(row.try_get("capabilities").map_err(map_err)?),
                    payment_types: PaymentType::from_mask(row.try_get("payment_types").map_err(map_err)?),
                    price_per_kwh: row.try_get("price_per_kwh").map_err(map_err)?,
                    price_per_hour: row.try_get("price_per_hour").map_err(map_err)?,
                    waiting_price_per_minute: row.try_get("waiting_price_per_minute").map_err(map_err)?,
                    connectors: ::serde_json::from_str(&connectors)
                        .map_err(|e| ::plugway_store::StoreError::Other(format!("stored connectors: {e}")))?,
                },
                approval: stored("approval", ApprovalState::parse("approval", &approval))?,
                rejection_reason: row.try_get("rejection_reason").map_err(map_err)?,
                ocpp_status: row.try_get("ocpp_status").map_err(map_err)?,
                charger_connected: connected.unwrap_or(false),
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
                updated_at: from_ms(row.try_get("updated_at").map_err(map_err)?),
            })
        }

        fn photo_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::SitePhoto> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, map_err, parse_uuid};
            Ok(::plugway_store::SitePhoto {
                id: ::plugway_domain::PhotoId(parse_uuid(&row.try_get::<String, _>("id").map_err(map_err)?)?),
                site_id: ::plugway_domain::SiteId(parse_uuid(&row.try_get::<String, _>("site_id").map_err(map_err)?)?),
                key: row.try_get("key").map_err(map_err)?,
                thumb_key: row.try_get("thumb_key").map_err(map_err)?,
                content_type: row.try_get("content_type").map_err(map_err)?,
                width: row.try_get("width").map_err(map_err)?,
                height: row.try_get("height").map_err(map_err)?,
                bytes: row.try_get("bytes").map_err(map_err)?,
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
            })
        }

        fn nearby_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::NearbyPlace> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, map_err, parse_uuid};
            Ok(::plugway_store::NearbyPlace {
                id: ::plugway_domain::NearbyId(parse_uuid(&row.try_get::<String, _>("id").map_err(map_err)?)?),
                site_id: ::plugway_domain::SiteId(parse_uuid(&row.try_get::<String, _>("site_id").map_err(map_err)?)?),
                kind: row.try_get("kind").map_err(map_err)?,
                name: row.try_get("name").map_err(map_err)?,
                image: row.try_get("image").map_err(map_err)?,
                address: row.try_get("address").map_err(map_err)?,
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
            })
        }

        fn host_from_row(row: &Row) -> ::plugway_store::Result<::plugway_store::HostProfile> {
            use ::sqlx::Row as _;
            use $crate::{from_ms, map_err, parse_uuid};
            Ok(::plugway_store::HostProfile {
                user_id: ::plugway_domain::UserId(parse_uuid(&row.try_get::<String, _>("user_id").map_err(map_err)?)?),
                owner_name: row.try_get("owner_name").map_err(map_err)?,
                contact_name: row.try_get("contact_name").map_err(map_err)?,
                contact_number: row.try_get("contact_number").map_err(map_err)?,
                contact_email: row.try_get("contact_email").map_err(map_err)?,
                logo: row.try_get("logo").map_err(map_err)?,
                party_id: row.try_get("party_id").map_err(map_err)?,
                country_code: row.try_get("country_code").map_err(map_err)?,
                ocpp_ready: row.try_get("ocpp_ready").map_err(map_err)?,
                created_at: from_ms(row.try_get("created_at").map_err(map_err)?),
                updated_at: from_ms(row.try_get("updated_at").map_err(map_err)?),
            })
        }

        /// The site with this id, read on `conn`: a pooled reader for
        /// `find_site`, or the transaction of a revision.
        async fn site_in(
            conn: &mut <$db as ::sqlx::Database>::Connection,
            id: ::plugway_domain::SiteId,
        ) -> ::plugway_store::Result<Option<::plugway_store::Site>> {
            let sql = format!("SELECT {SITE_COLUMNS} FROM sites WHERE id = $1");
            let row = ::sqlx::query(&sql)
                .bind(id.to_text())
                .fetch_optional(&mut *conn)
                .await
                .map_err($crate::map_err)?;
            row.as_ref().map(site_from_row).transpose()
        }

        /// The EVSE with this id, read on `conn` (as [`site_in`]).
        async fn evse_in(
            conn: &mut <$db as ::sqlx::Database>::Connection,
            id: ::plugway_domain::EvseId,
        ) -> ::plugway_store::Result<Option<::plugway_store::Evse>> {
            let sql = format!("SELECT {EVSE_COLUMNS} FROM {EVSE_FROM} WHERE e.id = $1");
            let row = ::sqlx::query(&sql)
                .bind(id.to_text())
                .fetch_optional(&mut *conn)
                .await
                .map_err($crate::map_err)?;
            row.as_ref().map(evse_from_row).transpose()
        }

        /// Recomputes a site's derived columns from its approved EVSEs and
        /// its host's name, inside the caller's transaction so that search
        /// never sees a site whose summary disagrees with its EVSEs.
        async fn refresh_site_summary(
            conn: &mut <$db as ::sqlx::Database>::Connection,
            site: &str,
        ) -> ::plugway_store::Result<()> {
            use ::sqlx::Row as _;
            use $crate::map_err;
            let Some(row) = ::sqlx::query(
                "SELECT s.name, s.address, s.city, s.province, s.region, s.postal_code, s.approval, s.published, \
                 h.owner_name FROM sites s LEFT JOIN host_profiles h ON h.user_id = s.host_id WHERE s.id = $1",
            )
            .bind(site)
            .fetch_optional(&mut *conn)
            .await
            .map_err(map_err)?
            else {
                return Err(::plugway_store::StoreError::NotFound);
            };
            let mut words: Vec<String> = Vec::new();
            for column in ["name", "address", "city", "province", "region", "postal_code", "owner_name"] {
                let value: Option<String> = row.try_get(column).map_err(map_err)?;
                words.extend(value);
            }
            let approved = row.try_get::<String, _>("approval").map_err(map_err)? == "APPROVED";
            let published: bool = row.try_get("published").map_err(map_err)?;
            let evses = ::sqlx::query(
                "SELECT evse_code, connectors, capabilities, payment_types FROM evses \
                 WHERE site_id = $1 AND approval = 'APPROVED'",
            )
            .bind(site)
            .fetch_all(&mut *conn)
            .await
            .map_err(map_err)?;
            let summary = $crate::summary::SiteSummary::of(
                &words,
                evses
                    .iter()
                    .map(|e| -> ::plugway_store::Result<$crate::summary::EvseSummaryInput> {
                        let connectors: String = e.try_get("connectors").map_err(map_err)?;
                        Ok($crate::summary::EvseSummaryInput {
                            code: e.try_get("evse_code").map_err(map_err)?,
                            connectors: ::serde_json::from_str(&connectors)
                                .map_err(|e| ::plugway_store::StoreError::Other(format!("stored connectors: {e}")))?,
                            capabilities: e.try_get("capabilities").map_err(map_err)?,
                            payment_types: e.try_get("payment_types").map_err(map_err)?,
                        })
                    })
                    .collect::<::plugway_store::Result<Vec<_>>>()?,
            );
            ::sqlx::query(
                "UPDATE sites SET visible = $2, evse_count = $3, max_power_w = $4, standards = $5, \
                 capabilities = $6, payment_types = $7, search_text = $8 WHERE id = $1",
            )
            .bind(site)
            .bind(approved && published && summary.evse_count > 0)
            .bind(summary.evse_count)
            .bind(summary.max_power_w)
            .bind(summary.standards)
            .bind(summary.capabilities)
            .bind(summary.payment_types)
            .bind(summary.search_text)
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
            Ok(())
        }

        fn evse_binds<'q>(
            query: ::sqlx::query::Query<'q, $db, <$db as ::sqlx::Database>::Arguments<'q>>,
            f: &'q ::plugway_store::EvseFields,
        ) -> ::plugway_store::Result<::sqlx::query::Query<'q, $db, <$db as ::sqlx::Database>::Arguments<'q>>> {
            use ::plugway_domain::{Capability, PaymentType};
            let connectors = ::serde_json::to_string(&f.connectors)
                .map_err(|e| ::plugway_store::StoreError::Other(e.to_string()))?;
            Ok(query
                .bind(f.evse_code.as_str())
                .bind(f.serial_number.as_deref())
                .bind(f.meter_type.as_deref())
                .bind(f.charge_point_id.as_ref().map(|c| c.as_str()))
                .bind(f.ocpp_connector_id)
                .bind(f.declared_status.code())
                .bind(Capability::mask(&f.capabilities))
                .bind(PaymentType::mask(&f.payment_types))
                .bind(f.price_per_kwh)
                .bind(f.price_per_hour)
                .bind(f.waiting_price_per_minute)
                .bind(connectors))
        }

        fn site_binds<'q>(
            query: ::sqlx::query::Query<'q, $db, <$db as ::sqlx::Database>::Arguments<'q>>,
            f: &'q ::plugway_store::SiteFields,
        ) -> ::plugway_store::Result<::sqlx::query::Query<'q, $db, <$db as ::sqlx::Database>::Arguments<'q>>> {
            use ::plugway_domain::{Facility, ParkingRestriction, ParkingType};
            let hours = ::serde_json::to_string(&f.opening_hours)
                .map_err(|e| ::plugway_store::StoreError::Other(e.to_string()))?;
            let unit = f.coordinates.unit_vector();
            Ok(query
                .bind(f.name.as_str())
                .bind(f.address.as_str())
                .bind(f.city.as_str())
                .bind(f.province.as_str())
                .bind(f.region.as_deref())
                .bind(f.postal_code.as_deref())
                .bind(f.country_code.as_str())
                .bind(f.coordinates.lat)
                .bind(f.coordinates.lng)
                .bind(f.time_zone.name())
                .bind(hours)
                .bind(f.opening_hours.twentyfourseven)
                .bind(Facility::mask(&f.facilities))
                .bind(ParkingType::mask(&f.parking_types))
                .bind(ParkingRestriction::mask(&f.parking_restrictions))
                .bind(f.currency.code().to_owned())
                .bind(f.published)
                .bind(unit[0])
                .bind(unit[1])
                .bind(unit[2]))
        }

        /// Writes every host-edited field of a site and recomputes its
        /// derived columns, inside the caller's transaction. An admin's edit
        /// and an approved revision both come through here, so search sees
        /// either the old site or the new one, never a mix.
        async fn write_site_fields(
            conn: &mut <$db as ::sqlx::Database>::Connection,
            id: ::plugway_domain::SiteId,
            fields: &::plugway_store::SiteFields,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> ::plugway_store::Result<()> {
            use $crate::{map_err, to_ms};
            let query = ::sqlx::query(
                "UPDATE sites SET name = $1, address = $2, city = $3, province = $4, region = $5, \
                 postal_code = $6, country_code = $7, lat = $8, lng = $9, time_zone = $10, opening_hours = $11, \
                 always_open = $12, facilities = $13, parking_types = $14, parking_restrictions = $15, \
                 currency = $16, published = $17, ux = $18, uy = $19, uz = $20, updated_at = $22 WHERE id = $21",
            );
            let done = site_binds(query, fields)?
                .bind(id.to_text())
                .bind(to_ms(now))
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
            one_row(done.rows_affected())?;
            refresh_site_summary(&mut *conn, &id.to_text()).await
        }

        /// Writes every host-edited field of an EVSE and recomputes its
        /// site's derived columns, inside the caller's transaction.
        async fn write_evse_fields(
            conn: &mut <$db as ::sqlx::Database>::Connection,
            id: ::plugway_domain::EvseId,
            fields: &::plugway_store::EvseFields,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> ::plugway_store::Result<()> {
            use ::sqlx::Row as _;
            use $crate::{map_err, to_ms};
            let query = ::sqlx::query(
                "UPDATE evses SET evse_code = $1, serial_number = $2, meter_type = $3, charge_point_id = $4, \
                 ocpp_connector_id = $5, declared_status = $6, capabilities = $7, payment_types = $8, \
                 price_per_kwh = $9, price_per_hour = $10, waiting_price_per_minute = $11, connectors = $12, \
                 updated_at = $14 WHERE id = $13 RETURNING site_id",
            );
            let row = evse_binds(query, fields)?
                .bind(id.to_text())
                .bind(to_ms(now))
                .fetch_optional(&mut *conn)
                .await
                .map_err(map_err)?
                .ok_or(::plugway_store::StoreError::NotFound)?;
            let site: String = row.try_get("site_id").map_err(map_err)?;
            refresh_site_summary(&mut *conn, &site).await
        }

        /// Inserts one EVSE row of `site`.
        async fn insert_evse_row(
            conn: &mut <$db as ::sqlx::Database>::Connection,
            evse: &::plugway_store::Evse,
            site: ::plugway_domain::SiteId,
        ) -> ::plugway_store::Result<()> {
            use $crate::{map_err, to_ms};
            let query = ::sqlx::query(
                "INSERT INTO evses (evse_code, serial_number, meter_type, charge_point_id, ocpp_connector_id, \
                 declared_status, capabilities, payment_types, price_per_kwh, price_per_hour, \
                 waiting_price_per_minute, connectors, id, site_id, approval, rejection_reason, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
            );
            evse_binds(query, &evse.fields)?
                .bind(evse.id.to_text())
                .bind(site.to_text())
                .bind(evse.approval.code())
                .bind(evse.rejection_reason.as_deref())
                .bind(to_ms(evse.created_at))
                .bind(to_ms(evse.updated_at))
                .execute(&mut *conn)
                .await
                .map_err(map_err)?;
            Ok(())
        }

        /// `$start, $start+1, …` for an IN list of `n` bound values. Only
        /// placeholders are formatted into SQL, never values.
        fn placeholders(start: usize, n: usize) -> String {
            (start..start + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
        }

        #[$crate::__private::async_trait]
        impl ::plugway_store::NetworkStore for $store {
            async fn upsert_host_profile(&self, p: &::plugway_store::HostProfile) -> ::plugway_store::Result<()> {
                use $crate::{map_err, to_ms};
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                ::sqlx::query(
                    "INSERT INTO host_profiles (user_id, owner_name, contact_name, contact_number, contact_email, \
                     logo, party_id, country_code, ocpp_ready, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $11, $9, $10) \
                     ON CONFLICT (user_id) DO UPDATE SET owner_name = excluded.owner_name, \
                     contact_name = excluded.contact_name, contact_number = excluded.contact_number, \
                     contact_email = excluded.contact_email, party_id = excluded.party_id, \
                     country_code = excluded.country_code, ocpp_ready = excluded.ocpp_ready, \
                     updated_at = excluded.updated_at",
                )
                .bind(p.user_id.to_text())
                .bind(&p.owner_name)
                .bind(&p.contact_name)
                .bind(&p.contact_number)
                .bind(&p.contact_email)
                .bind(p.logo.as_deref())
                .bind(p.party_id.as_deref())
                .bind(p.country_code.as_deref())
                .bind(to_ms(p.created_at))
                .bind(to_ms(p.updated_at))
                .bind(p.ocpp_ready)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)
            }

            async fn find_host_profile(
                &self,
                user: ::plugway_domain::UserId,
            ) -> ::plugway_store::Result<Option<::plugway_store::HostProfile>> {
                let sql = format!("SELECT {HOST_COLUMNS} FROM host_profiles WHERE user_id = $1");
                let row = ::sqlx::query(&sql)
                    .bind(user.to_text())
                    .fetch_optional(&self.reader)
                    .await
                    .map_err($crate::map_err)?;
                row.as_ref().map(host_from_row).transpose()
            }

            async fn set_host_logo(
                &self,
                user: ::plugway_domain::UserId,
                logo: Option<&str>,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<Option<String>> {
                use ::sqlx::Row as _;
                use $crate::{map_err, to_ms};
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                let old = ::sqlx::query("SELECT logo FROM host_profiles WHERE user_id = $1")
                    .bind(user.to_text())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?
                    .ok_or(::plugway_store::StoreError::NotFound)?;
                let old: Option<String> = old.try_get("logo").map_err(map_err)?;
                ::sqlx::query("UPDATE host_profiles SET logo = $2, updated_at = $3 WHERE user_id = $1")
                    .bind(user.to_text())
                    .bind(logo)
                    .bind(to_ms(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                Ok(old)
            }

            async fn claim_operator_logo(
                &self,
                user: ::plugway_domain::UserId,
                file_name: &str,
                at: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                use $crate::{map_err, to_ms};
                ::sqlx::query(
                    "INSERT INTO operator_logo_claims (user_id, file_name, registered_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (user_id) DO UPDATE SET file_name = excluded.file_name, registered_at = excluded.registered_at",
                )
                .bind(user.to_text())
                .bind(file_name)
                .bind(to_ms(at))
                .execute(&self.writer)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            async fn take_operator_logo_claim(
                &self,
                file_name: &str,
                since: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<Option<::plugway_domain::UserId>> {
                use ::sqlx::Row as _;
                use $crate::{map_err, to_ms};
                // One statement picks and deletes, so two uploads of the same
                // file cannot both take the claim.
                let row = ::sqlx::query(
                    "DELETE FROM operator_logo_claims WHERE user_id = ( \
                       SELECT user_id FROM operator_logo_claims WHERE file_name = $1 AND registered_at >= $2 \
                       ORDER BY registered_at DESC, user_id DESC LIMIT 1) \
                     RETURNING user_id",
                )
                .bind(file_name)
                .bind(to_ms(since))
                .fetch_optional(&self.writer)
                .await
                .map_err(map_err)?;
                row.map(|r| {
                    let id: String = r.try_get("user_id").map_err(map_err)?;
                    $crate::parse_uuid(&id).map(::plugway_domain::UserId)
                })
                .transpose()
            }

            async fn insert_site(&self, site: &::plugway_store::Site) -> ::plugway_store::Result<()> {
                // A new site has no EVSEs yet; the bulk path writes it with
                // the same derived columns in one statement.
                self.insert_sites_bulk(&[(site.clone(), Vec::new())]).await
            }

            async fn update_site(
                &self,
                id: ::plugway_domain::SiteId,
                fields: &::plugway_store::SiteFields,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                use $crate::map_err;
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                write_site_fields(&mut *tx, id, fields, now).await?;
                tx.commit().await.map_err(map_err)
            }

            async fn delete_site(&self, id: ::plugway_domain::SiteId) -> ::plugway_store::Result<Vec<String>> {
                use ::sqlx::Row as _;
                use $crate::map_err;
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                let mut keys = Vec::new();
                for row in ::sqlx::query("SELECT key, thumb_key FROM site_photos WHERE site_id = $1")
                    .bind(id.to_text())
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(map_err)?
                {
                    keys.push(row.try_get::<String, _>("key").map_err(map_err)?);
                    keys.push(row.try_get::<String, _>("thumb_key").map_err(map_err)?);
                }
                let logo = ::sqlx::query("SELECT brand_logo FROM sites WHERE id = $1")
                    .bind(id.to_text())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?
                    .ok_or(::plugway_store::StoreError::NotFound)?;
                keys.extend(logo.try_get::<Option<String>, _>("brand_logo").map_err(map_err)?);
                // Children first: PostgreSQL and SQLite both cascade, but
                // saying it keeps the order obvious and the locks short.
                // Revisions go by cascade with their EVSE and site rows, so
                // their locks come after the listing's, as in every other
                // path that touches both.
                for sql in [
                    "DELETE FROM site_photos WHERE site_id = $1",
                    "DELETE FROM nearby_places WHERE site_id = $1",
                    "DELETE FROM bookmarks WHERE site_id = $1",
                    "DELETE FROM ratings WHERE site_id = $1",
                    "DELETE FROM evses WHERE site_id = $1",
                    "DELETE FROM sites WHERE id = $1",
                ] {
                    ::sqlx::query(sql).bind(id.to_text()).execute(&mut *tx).await.map_err(map_err)?;
                }
                tx.commit().await.map_err(map_err)?;
                Ok(keys)
            }

            async fn find_site(
                &self,
                id: ::plugway_domain::SiteId,
            ) -> ::plugway_store::Result<Option<::plugway_store::Site>> {
                let mut conn = self.reader.acquire().await.map_err($crate::map_err)?;
                site_in(&mut conn, id).await
            }

            async fn find_sites(
                &self,
                ids: &[::plugway_domain::SiteId],
            ) -> ::plugway_store::Result<Vec<::plugway_store::Site>> {
                let mut out = Vec::with_capacity(ids.len());
                // Bounded IN lists: a page is small, and SQLite caps bound values.
                for chunk in ids.chunks(500) {
                    let sql = format!(
                        "SELECT {SITE_COLUMNS} FROM sites WHERE id IN ({})",
                        placeholders(1, chunk.len())
                    );
                    let mut query = ::sqlx::query(&sql);
                    for id in chunk {
                        query = query.bind(id.to_text());
                    }
                    for row in query.fetch_all(&self.reader).await.map_err($crate::map_err)? {
                        out.push(site_from_row(&row)?);
                    }
                }
                Ok(out)
            }

            async fn list_sites(
                &self,
                filter: &::plugway_store::SiteListFilter,
                offset: i64,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::Site>> {
                let sql = format!(
                    "SELECT {SITE_COLUMNS} FROM sites WHERE ($1 = '' OR host_id = $1) \
                     AND ($2 = '' OR approval = $2) AND (visible = TRUE OR $3 = FALSE) \
                     ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5"
                );
                let rows = ::sqlx::query(&sql)
                    .bind(filter.host.map(|h| h.to_text()).unwrap_or_default())
                    .bind(filter.approval.map(|a| a.code()).unwrap_or_default())
                    .bind(filter.visible_only)
                    .bind(limit)
                    .bind(offset)
                    .fetch_all(&self.reader)
                    .await
                    .map_err($crate::map_err)?;
                rows.iter().map(site_from_row).collect()
            }

            async fn count_sites(&self, filter: &::plugway_store::SiteListFilter) -> ::plugway_store::Result<i64> {
                use ::sqlx::Row as _;
                let row = ::sqlx::query(
                    "SELECT COUNT(*) AS n FROM sites WHERE ($1 = '' OR host_id = $1) \
                     AND ($2 = '' OR approval = $2) AND (visible = TRUE OR $3 = FALSE)",
                )
                .bind(filter.host.map(|h| h.to_text()).unwrap_or_default())
                .bind(filter.approval.map(|a| a.code()).unwrap_or_default())
                .bind(filter.visible_only)
                .fetch_one(&self.reader)
                .await
                .map_err($crate::map_err)?;
                row.try_get("n").map_err($crate::map_err)
            }

            async fn set_site_approval(
                &self,
                id: ::plugway_domain::SiteId,
                approval: ::plugway_domain::ApprovalState,
                reason: Option<&str>,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                use $crate::{map_err, to_ms};
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                let done = ::sqlx::query(
                    "UPDATE sites SET approval = $2, rejection_reason = $3, updated_at = $4 WHERE id = $1",
                )
                .bind(id.to_text())
                .bind(approval.code())
                .bind(reason)
                .bind(to_ms(now))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                one_row(done.rows_affected())?;
                refresh_site_summary(&mut *tx, &id.to_text()).await?;
                tx.commit().await.map_err(map_err)
            }

            async fn set_site_brand_logo(
                &self,
                id: ::plugway_domain::SiteId,
                logo: Option<&str>,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<Option<String>> {
                use ::sqlx::Row as _;
                use $crate::{map_err, to_ms};
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                let old = ::sqlx::query("SELECT brand_logo FROM sites WHERE id = $1")
                    .bind(id.to_text())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?
                    .ok_or(::plugway_store::StoreError::NotFound)?;
                let old: Option<String> = old.try_get("brand_logo").map_err(map_err)?;
                ::sqlx::query("UPDATE sites SET brand_logo = $2, updated_at = $3 WHERE id = $1")
                    .bind(id.to_text())
                    .bind(logo)
                    .bind(to_ms(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                Ok(old)
            }

            async fn refresh_host_sites(&self, host: ::plugway_domain::UserId) -> ::plugway_store::Result<()> {
                use ::sqlx::Row as _;
                use $crate::map_err;
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                let ids = ::sqlx::query("SELECT id FROM sites WHERE host_id = $1")
                    .bind(host.to_text())
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(map_err)?;
                for row in ids {
                    let id: String = row.try_get("id").map_err(map_err)?;
                    refresh_site_summary(&mut *tx, &id).await?;
                }
                tx.commit().await.map_err(map_err)
            }

            async fn insert_sites_bulk(
                &self,
                sites: &[(::plugway_store::Site, Vec<::plugway_store::Evse>)],
            ) -> ::plugway_store::Result<()> {
                use ::sqlx::Row as _;
                use $crate::{map_err, to_ms};
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                let mut host_names: ::std::collections::HashMap<::plugway_domain::UserId, Option<String>> =
                    ::std::collections::HashMap::new();
                for (site, evses) in sites {
                    if !host_names.contains_key(&site.host_id) {
                        let name = ::sqlx::query("SELECT owner_name FROM host_profiles WHERE user_id = $1")
                            .bind(site.host_id.to_text())
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(map_err)?
                            .map(|r| r.try_get::<String, _>("owner_name"))
                            .transpose()
                            .map_err(map_err)?;
                        host_names.insert(site.host_id, name);
                    }
                    let f = &site.fields;
                    let mut words = vec![f.name.clone(), f.address.clone(), f.city.clone(), f.province.clone()];
                    words.extend(f.region.clone());
                    words.extend(f.postal_code.clone());
                    words.extend(host_names.get(&site.host_id).cloned().flatten());
                    let summary = $crate::summary::SiteSummary::of(
                        &words,
                        evses
                            .iter()
                            .filter(|e| e.approval == ::plugway_domain::ApprovalState::Approved)
                            .map(|e| $crate::summary::EvseSummaryInput {
                                code: e.fields.evse_code.clone(),
                                connectors: e.fields.connectors.clone(),
                                capabilities: ::plugway_domain::Capability::mask(&e.fields.capabilities),
                                payment_types: ::plugway_domain::PaymentType::mask(&e.fields.payment_types),
                            })
                            .collect(),
                    );
                    let visible = site.approval == ::plugway_domain::ApprovalState::Approved
                        && f.published
                        && summary.evse_count > 0;
                    let query = ::sqlx::query(
                        "INSERT INTO sites (name, address, city, province, region, postal_code, country_code, lat, lng, \
                         time_zone, opening_hours, always_open, facilities, parking_types, parking_restrictions, \
                         currency, published, ux, uy, uz, id, host_id, brand_logo, approval, rejection_reason, \
                         created_at, updated_at, rating_sum, rating_count, visible, evse_count, max_power_w, standards, \
                         capabilities, payment_types, search_text) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
                         $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36)",
                    );
                    site_binds(query, f)?
                        .bind(site.id.to_text())
                        .bind(site.host_id.to_text())
                        .bind(site.brand_logo.as_deref())
                        .bind(site.approval.code())
                        .bind(site.rejection_reason.as_deref())
                        .bind(to_ms(site.created_at))
                        .bind(to_ms(site.updated_at))
                        .bind(site.rating_sum)
                        .bind(site.rating_count)
                        .bind(visible)
                        .bind(summary.evse_count)
                        .bind(summary.max_power_w)
                        .bind(summary.standards)
                        .bind(summary.capabilities)
                        .bind(summary.payment_types)
                        .bind(summary.search_text)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                    for evse in evses {
                        insert_evse_row(&mut *tx, evse, site.id).await?;
                    }
                }
                tx.commit().await.map_err(map_err)
            }

            async fn insert_evse(&self, evse: &::plugway_store::Evse) -> ::plugway_store::Result<()> {
                use $crate::map_err;
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                insert_evse_row(&mut *tx, evse, evse.site_id).await?;
                refresh_site_summary(&mut *tx, &evse.site_id.to_text()).await?;
                tx.commit().await.map_err(map_err)
            }

            async fn update_evse(
                &self,
                id: ::plugway_domain::EvseId,
                fields: &::plugway_store::EvseFields,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                use $crate::map_err;
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                write_evse_fields(&mut *tx, id, fields, now).await?;
                tx.commit().await.map_err(map_err)
            }

            async fn delete_evse(&self, id: ::plugway_domain::EvseId) -> ::plugway_store::Result<()> {
                use ::sqlx::Row as _;
                use $crate::map_err;
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                let row = ::sqlx::query("DELETE FROM evses WHERE id = $1 RETURNING site_id")
                    .bind(id.to_text())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?
                    .ok_or(::plugway_store::StoreError::NotFound)?;
                let site: String = row.try_get("site_id").map_err(map_err)?;
                refresh_site_summary(&mut *tx, &site).await?;
                tx.commit().await.map_err(map_err)
            }

            async fn find_evse(
                &self,
                id: ::plugway_domain::EvseId,
            ) -> ::plugway_store::Result<Option<::plugway_store::Evse>> {
                let mut conn = self.reader.acquire().await.map_err($crate::map_err)?;
                evse_in(&mut conn, id).await
            }

            async fn find_evse_by_port(
                &self,
                charge_point: &::plugway_domain::ChargePointId,
                connector_id: i64,
            ) -> ::plugway_store::Result<Option<::plugway_store::Evse>> {
                let sql = format!(
                    "SELECT {EVSE_COLUMNS} FROM {EVSE_FROM} WHERE e.charge_point_id = $1 AND e.ocpp_connector_id = $2"
                );
                let row = ::sqlx::query(&sql)
                    .bind(charge_point.as_str())
                    .bind(connector_id)
                    .fetch_optional(&self.reader)
                    .await
                    .map_err($crate::map_err)?;
                row.as_ref().map(evse_from_row).transpose()
            }

            async fn list_site_evses(
                &self,
                sites: &[::plugway_domain::SiteId],
            ) -> ::plugway_store::Result<Vec<::plugway_store::Evse>> {
                let mut out = Vec::new();
                for chunk in sites.chunks(500) {
                    let sql = format!(
                        "SELECT {EVSE_COLUMNS} FROM {EVSE_FROM} WHERE e.site_id IN ({}) ORDER BY e.site_id, e.created_at, e.id",
                        placeholders(1, chunk.len())
                    );
                    let mut query = ::sqlx::query(&sql);
                    for id in chunk {
                        query = query.bind(id.to_text());
                    }
                    for row in query.fetch_all(&self.reader).await.map_err($crate::map_err)? {
                        out.push(evse_from_row(&row)?);
                    }
                }
                Ok(out)
            }

            async fn list_evses(
                &self,
                filter: &::plugway_store::EvseListFilter,
                offset: i64,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::Evse>> {
                // Four fixed orders, chosen by a flag: never SQL text from input.
                let order = match (filter.order_by_location, filter.descending) {
                    (true, true) => "s.name DESC, e.id DESC",
                    (true, false) => "s.name ASC, e.id ASC",
                    (false, true) => "e.created_at DESC, e.id DESC",
                    (false, false) => "e.created_at ASC, e.id ASC",
                };
                let sql = format!(
                    "SELECT {EVSE_COLUMNS} FROM {EVSE_FROM} JOIN sites s ON s.id = e.site_id \
                     WHERE ($1 = '' OR s.host_id = $1) AND ($2 = '' OR lower(s.name) LIKE $2 ESCAPE '\\') \
                     AND ($3 = '' OR e.approval = $3) \
                     AND ($4 = FALSE OR (s.visible = TRUE AND e.approval = 'APPROVED')) \
                     ORDER BY {order} LIMIT $5 OFFSET $6"
                );
                let name = filter
                    .location_name
                    .as_deref()
                    .map(|n| format!("%{}%", $crate::like_escape(&n.to_lowercase())))
                    .unwrap_or_default();
                let rows = ::sqlx::query(&sql)
                    .bind(filter.host.map(|h| h.to_text()).unwrap_or_default())
                    .bind(name)
                    .bind(filter.approval.map(|a| a.code()).unwrap_or_default())
                    .bind(filter.visible_only)
                    .bind(limit)
                    .bind(offset)
                    .fetch_all(&self.reader)
                    .await
                    .map_err($crate::map_err)?;
                rows.iter().map(evse_from_row).collect()
            }

            async fn set_evse_approval(
                &self,
                id: ::plugway_domain::EvseId,
                approval: ::plugway_domain::ApprovalState,
                reason: Option<&str>,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                use ::sqlx::Row as _;
                use $crate::{map_err, to_ms};
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                let row = ::sqlx::query(
                    "UPDATE evses SET approval = $2, rejection_reason = $3, updated_at = $4 WHERE id = $1 RETURNING site_id",
                )
                .bind(id.to_text())
                .bind(approval.code())
                .bind(reason)
                .bind(to_ms(now))
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?
                .ok_or(::plugway_store::StoreError::NotFound)?;
                let site: String = row.try_get("site_id").map_err(map_err)?;
                refresh_site_summary(&mut *tx, &site).await?;
                tx.commit().await.map_err(map_err)
            }

            async fn pending_counts(
                &self,
                host: Option<::plugway_domain::UserId>,
            ) -> ::plugway_store::Result<::plugway_store::PendingCounts> {
                use ::sqlx::Row as _;
                use $crate::map_err;
                let host = host.map(|h| h.to_text()).unwrap_or_default();
                // An open revision waits for an admin as a new listing does,
                // so it counts; a listing is counted once either way. Two sums
                // of index-backed counts (approval; the open-revision queue)
                // rather than one pass over every site.
                let row = ::sqlx::query(
                    "SELECT (SELECT COUNT(*) FROM sites WHERE approval = 'PENDING' AND ($1 = '' OR host_id = $1)) \
                     + (SELECT COUNT(*) FROM listing_revisions r JOIN sites s ON s.id = r.site_id \
                        WHERE r.state = 'OPEN' AND r.evse_id IS NULL AND s.approval <> 'PENDING' \
                        AND ($1 = '' OR s.host_id = $1)) AS sites, \
                     (SELECT COUNT(*) FROM evses e JOIN sites s ON s.id = e.site_id \
                      WHERE e.approval = 'PENDING' AND ($1 = '' OR s.host_id = $1)) \
                     + (SELECT COUNT(*) FROM listing_revisions r JOIN evses e ON e.id = r.evse_id \
                        JOIN sites s ON s.id = r.site_id \
                        WHERE r.state = 'OPEN' AND e.approval <> 'PENDING' AND ($1 = '' OR s.host_id = $1)) AS evses",
                )
                .bind(host)
                .fetch_one(&self.reader)
                .await
                .map_err(map_err)?;
                Ok(::plugway_store::PendingCounts {
                    sites: row.try_get("sites").map_err(map_err)?,
                    evses: row.try_get("evses").map_err(map_err)?,
                })
            }

            async fn insert_site_photos(&self, photos: &[::plugway_store::SitePhoto]) -> ::plugway_store::Result<()> {
                use ::sqlx::Row as _;
                use $crate::{map_err, to_ms};
                let Some(first) = photos.first() else { return Ok(()) };
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                let have: i64 = ::sqlx::query("SELECT COUNT(*) AS n FROM site_photos WHERE site_id = $1")
                    .bind(first.site_id.to_text())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_err)?
                    .try_get("n")
                    .map_err(map_err)?;
                let adding = i64::try_from(photos.len()).unwrap_or(i64::MAX);
                if have.saturating_add(adding) > ::plugway_store::MAX_PHOTOS_PER_SITE {
                    return Err(::plugway_store::StoreError::Conflict(::plugway_store::Conflict::PhotoLimit));
                }
                for p in photos {
                    ::sqlx::query(
                        "INSERT INTO site_photos (id, site_id, key, thumb_key, content_type, width, height, bytes, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(p.id.to_text())
                    .bind(p.site_id.to_text())
                    .bind(&p.key)
                    .bind(&p.thumb_key)
                    .bind(&p.content_type)
                    .bind(p.width)
                    .bind(p.height)
                    .bind(p.bytes)
                    .bind(to_ms(p.created_at))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                }
                tx.commit().await.map_err(map_err)
            }

            async fn list_site_photos(
                &self,
                site: ::plugway_domain::SiteId,
            ) -> ::plugway_store::Result<Vec<::plugway_store::SitePhoto>> {
                let sql = format!("SELECT {PHOTO_COLUMNS} FROM site_photos WHERE site_id = $1 ORDER BY created_at, id");
                let rows = ::sqlx::query(&sql)
                    .bind(site.to_text())
                    .fetch_all(&self.reader)
                    .await
                    .map_err($crate::map_err)?;
                rows.iter().map(photo_from_row).collect()
            }

            async fn find_site_photo(
                &self,
                id: ::plugway_domain::PhotoId,
            ) -> ::plugway_store::Result<Option<::plugway_store::SitePhoto>> {
                let sql = format!("SELECT {PHOTO_COLUMNS} FROM site_photos WHERE id = $1");
                let row = ::sqlx::query(&sql)
                    .bind(id.to_text())
                    .fetch_optional(&self.reader)
                    .await
                    .map_err($crate::map_err)?;
                row.as_ref().map(photo_from_row).transpose()
            }

            async fn replace_site_photo(
                &self,
                p: &::plugway_store::SitePhoto,
            ) -> ::plugway_store::Result<::plugway_store::SitePhoto> {
                use $crate::map_err;
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                let sql = format!("SELECT {PHOTO_COLUMNS} FROM site_photos WHERE id = $1");
                let old = ::sqlx::query(&sql)
                    .bind(p.id.to_text())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?
                    .ok_or(::plugway_store::StoreError::NotFound)?;
                let old = photo_from_row(&old)?;
                ::sqlx::query(
                    "UPDATE site_photos SET key = $2, thumb_key = $3, content_type = $4, width = $5, height = $6, \
                     bytes = $7 WHERE id = $1",
                )
                .bind(p.id.to_text())
                .bind(&p.key)
                .bind(&p.thumb_key)
                .bind(&p.content_type)
                .bind(p.width)
                .bind(p.height)
                .bind(p.bytes)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                Ok(old)
            }

            async fn delete_site_photo(
                &self,
                id: ::plugway_domain::PhotoId,
            ) -> ::plugway_store::Result<::plugway_store::SitePhoto> {
                let sql = format!("DELETE FROM site_photos WHERE id = $1 RETURNING {PHOTO_COLUMNS}");
                let row = ::sqlx::query(&sql)
                    .bind(id.to_text())
                    .fetch_optional(&self.writer)
                    .await
                    .map_err($crate::map_err)?
                    .ok_or(::plugway_store::StoreError::NotFound)?;
                photo_from_row(&row)
            }

            async fn insert_nearby(&self, p: &::plugway_store::NearbyPlace) -> ::plugway_store::Result<()> {
                ::sqlx::query(
                    "INSERT INTO nearby_places (id, site_id, kind, name, image, address, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(p.id.to_text())
                .bind(p.site_id.to_text())
                .bind(&p.kind)
                .bind(&p.name)
                .bind(p.image.as_deref())
                .bind(&p.address)
                .bind($crate::to_ms(p.created_at))
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(())
            }

            async fn update_nearby(&self, p: &::plugway_store::NearbyPlace) -> ::plugway_store::Result<()> {
                let done = ::sqlx::query(
                    "UPDATE nearby_places SET kind = $2, name = $3, image = $4, address = $5 WHERE id = $1",
                )
                .bind(p.id.to_text())
                .bind(&p.kind)
                .bind(&p.name)
                .bind(p.image.as_deref())
                .bind(&p.address)
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                one_row(done.rows_affected())
            }

            async fn delete_nearby(&self, id: ::plugway_domain::NearbyId) -> ::plugway_store::Result<()> {
                let done = ::sqlx::query("DELETE FROM nearby_places WHERE id = $1")
                    .bind(id.to_text())
                    .execute(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                one_row(done.rows_affected())
            }

            async fn find_nearby(
                &self,
                id: ::plugway_domain::NearbyId,
            ) -> ::plugway_store::Result<Option<::plugway_store::NearbyPlace>> {
                let sql = format!("SELECT {NEARBY_COLUMNS} FROM nearby_places WHERE id = $1");
                let row = ::sqlx::query(&sql)
                    .bind(id.to_text())
                    .fetch_optional(&self.reader)
                    .await
                    .map_err($crate::map_err)?;
                row.as_ref().map(nearby_from_row).transpose()
            }

            async fn list_nearby(
                &self,
                site: ::plugway_domain::SiteId,
            ) -> ::plugway_store::Result<Vec<::plugway_store::NearbyPlace>> {
                let sql = format!("SELECT {NEARBY_COLUMNS} FROM nearby_places WHERE site_id = $1 ORDER BY created_at, id");
                let rows = ::sqlx::query(&sql)
                    .bind(site.to_text())
                    .fetch_all(&self.reader)
                    .await
                    .map_err($crate::map_err)?;
                rows.iter().map(nearby_from_row).collect()
            }

            async fn add_bookmark(
                &self,
                user: ::plugway_domain::UserId,
                site: ::plugway_domain::SiteId,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<bool> {
                let done = ::sqlx::query(
                    "INSERT INTO bookmarks (user_id, site_id, created_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (user_id, site_id) DO NOTHING",
                )
                .bind(user.to_text())
                .bind(site.to_text())
                .bind($crate::to_ms(now))
                .execute(&self.writer)
                .await
                .map_err($crate::map_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn remove_bookmark(
                &self,
                user: ::plugway_domain::UserId,
                site: ::plugway_domain::SiteId,
            ) -> ::plugway_store::Result<bool> {
                let done = ::sqlx::query("DELETE FROM bookmarks WHERE user_id = $1 AND site_id = $2")
                    .bind(user.to_text())
                    .bind(site.to_text())
                    .execute(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn find_bookmark(
                &self,
                user: ::plugway_domain::UserId,
                site: ::plugway_domain::SiteId,
            ) -> ::plugway_store::Result<Option<::chrono::DateTime<::chrono::Utc>>> {
                use ::sqlx::Row as _;
                let row = ::sqlx::query("SELECT created_at FROM bookmarks WHERE user_id = $1 AND site_id = $2")
                    .bind(user.to_text())
                    .bind(site.to_text())
                    .fetch_optional(&self.reader)
                    .await
                    .map_err($crate::map_err)?;
                row.map(|r| r.try_get::<i64, _>("created_at").map($crate::from_ms).map_err($crate::map_err))
                    .transpose()
            }

            async fn list_bookmarks(
                &self,
                user: ::plugway_domain::UserId,
                offset: i64,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<(::plugway_domain::SiteId, ::chrono::DateTime<::chrono::Utc>)>> {
                use ::sqlx::Row as _;
                use $crate::{from_ms, map_err, parse_uuid};
                let rows = ::sqlx::query(
                    "SELECT site_id, created_at FROM bookmarks WHERE user_id = $1 \
                     ORDER BY created_at DESC, site_id DESC LIMIT $2 OFFSET $3",
                )
                .bind(user.to_text())
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.reader)
                .await
                .map_err(map_err)?;
                rows.iter()
                    .map(|r| {
                        Ok((
                            ::plugway_domain::SiteId(parse_uuid(&r.try_get::<String, _>("site_id").map_err(map_err)?)?),
                            from_ms(r.try_get("created_at").map_err(map_err)?),
                        ))
                    })
                    .collect()
            }

            async fn count_bookmarks(&self, user: ::plugway_domain::UserId) -> ::plugway_store::Result<i64> {
                use ::sqlx::Row as _;
                let row = ::sqlx::query("SELECT COUNT(*) AS n FROM bookmarks WHERE user_id = $1")
                    .bind(user.to_text())
                    .fetch_one(&self.reader)
                    .await
                    .map_err($crate::map_err)?;
                row.try_get("n").map_err($crate::map_err)
            }

            async fn rate_site(
                &self,
                user: ::plugway_domain::UserId,
                site: ::plugway_domain::SiteId,
                score: i64,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> ::plugway_store::Result<()> {
                use ::sqlx::Row as _;
                use $crate::{map_err, to_ms};
                let mut tx = self.writer.begin().await.map_err(map_err)?;
                // Lock the site row first (PostgreSQL: a no-op update takes the
                // row lock; SQLite: the single writer already serializes), so two
                // ratings of one site cannot both read the old sum.
                let done = ::sqlx::query("UPDATE sites SET rating_sum = rating_sum WHERE id = $1")
                    .bind(site.to_text())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                one_row(done.rows_affected())?;
                let old: Option<i64> = ::sqlx::query("SELECT score FROM ratings WHERE user_id = $1 AND site_id = $2")
                    .bind(user.to_text())
                    .bind(site.to_text())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?
                    .map(|r| r.try_get("score"))
                    .transpose()
                    .map_err(map_err)?;
                ::sqlx::query(
                    "INSERT INTO ratings (user_id, site_id, score, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
                     ON CONFLICT (user_id, site_id) DO UPDATE SET score = excluded.score, updated_at = excluded.updated_at",
                )
                .bind(user.to_text())
                .bind(site.to_text())
                .bind(score)
                .bind(to_ms(now))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                let (delta_sum, delta_count) = match old {
                    Some(old) => (score - old, 0_i64),
                    None => (score, 1_i64),
                };
                ::sqlx::query(
                    "UPDATE sites SET rating_sum = rating_sum + $2, rating_count = rating_count + $3 WHERE id = $1",
                )
                .bind(site.to_text())
                .bind(delta_sum)
                .bind(delta_count)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                tx.commit().await.map_err(map_err)
            }

            async fn find_rating(
                &self,
                user: ::plugway_domain::UserId,
                site: ::plugway_domain::SiteId,
            ) -> ::plugway_store::Result<Option<i64>> {
                use ::sqlx::Row as _;
                let row = ::sqlx::query("SELECT score FROM ratings WHERE user_id = $1 AND site_id = $2")
                    .bind(user.to_text())
                    .bind(site.to_text())
                    .fetch_optional(&self.reader)
                    .await
                    .map_err($crate::map_err)?;
                row.map(|r| r.try_get("score").map_err($crate::map_err)).transpose()
            }

            async fn search_site_candidates(
                &self,
                filter: &::plugway_store::SiteFilter,
            ) -> ::plugway_store::Result<Vec<::plugway_store::SiteCandidate>> {
                use ::sqlx::Row as _;
                use $crate::map_err;
                use ::plugway_domain::{Coordinates, SiteTimeZone};
                let mut out = Vec::new();
                for b in search_boxes(filter) {
                    let rows = filter_binds(::sqlx::query(SEARCH_SQL), filter, &b)
                        .bind(filter.limit)
                        .fetch_all(&self.reader)
                        .await
                        .map_err(map_err)?;
                    for row in rows {
                        let always: bool = row.try_get("always_open").map_err(map_err)?;
                        let zone: String = row.try_get("time_zone").map_err(map_err)?;
                        let opening_hours = if always || !filter.with_hours {
                            None
                        } else {
                            let hours: String = row.try_get("opening_hours").map_err(map_err)?;
                            Some(::serde_json::from_str(&hours).map_err(|e| {
                                ::plugway_store::StoreError::Other(format!("stored opening hours: {e}"))
                            })?)
                        };
                        out.push(::plugway_store::SiteCandidate {
                            id: ::plugway_domain::SiteId($crate::parse_uuid(
                                &row.try_get::<String, _>("id").map_err(map_err)?,
                            )?),
                            coordinates: stored("coordinates", Coordinates::new(
                                row.try_get("lat").map_err(map_err)?,
                                row.try_get("lng").map_err(map_err)?,
                            ))?,
                            opening_hours,
                            time_zone: stored("time zone", SiteTimeZone::parse(&zone))?,
                        });
                    }
                }
                Ok(out)
            }

            async fn search_sites_ranked(
                &self,
                filter: &::plugway_store::SiteFilter,
                near: &::plugway_store::Nearness,
                offset: i64,
                limit: i64,
            ) -> ::plugway_store::Result<::plugway_store::RankedSites> {
                use ::sqlx::Row as _;
                use $crate::map_err;
                let boxes = search_boxes(filter);
                // One box: the database pages. Two (a box split at the
                // antimeridian): each gives its first offset + limit rows and
                // the pages are merged here.
                let (db_offset, db_limit) = if boxes.len() == 1 {
                    (offset, limit)
                } else {
                    (0, offset.saturating_add(limit))
                };
                let mut total = 0_i64;
                let mut hits = Vec::new();
                for b in &boxes {
                    let run = |offset: i64, limit: i64| {
                        filter_binds(::sqlx::query(RANKED_SQL), filter, b)
                            .bind(limit)
                            .bind(near.centre[0])
                            .bind(near.centre[1])
                            .bind(near.centre[2])
                            .bind(near.max_chord2)
                            .bind(offset)
                            .fetch_all(&self.reader)
                    };
                    let mut rows = run(db_offset, db_limit).await.map_err(map_err)?;
                    if rows.is_empty() && db_offset > 0 {
                        // Past the end: the count still has to come from somewhere.
                        let probe = run(0, 1).await.map_err(map_err)?;
                        if let Some(row) = probe.first() {
                            total += row.try_get::<i64, _>("total").map_err(map_err)?;
                        }
                        rows.clear();
                        continue;
                    }
                    for row in &rows {
                        hits.push(::plugway_store::RankedSite {
                            id: ::plugway_domain::SiteId($crate::parse_uuid(
                                &row.try_get::<String, _>("id").map_err(map_err)?,
                            )?),
                            coordinates: stored("coordinates", ::plugway_domain::Coordinates::new(
                                row.try_get("lat").map_err(map_err)?,
                                row.try_get("lng").map_err(map_err)?,
                            ))?,
                            chord2: row.try_get("d2").map_err(map_err)?,
                        });
                    }
                    if let Some(row) = rows.first() {
                        total += row.try_get::<i64, _>("total").map_err(map_err)?;
                    }
                }
                if boxes.len() > 1 {
                    hits.sort_by(|a, b| a.chord2.total_cmp(&b.chord2).then(a.id.cmp(&b.id)));
                    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(hits.len());
                    hits.drain(..start);
                    hits.truncate(usize::try_from(limit).unwrap_or(0));
                }
                Ok(::plugway_store::RankedSites { total, hits })
            }

            async fn cities_in_province(&self, province: &str) -> ::plugway_store::Result<Vec<String>> {
                use ::sqlx::Row as _;
                let rows = ::sqlx::query(
                    "SELECT DISTINCT city FROM sites WHERE lower(province) = $1 AND visible = TRUE ORDER BY city",
                )
                .bind(province.trim().to_lowercase())
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map(|r| r.try_get("city").map_err($crate::map_err)).collect()
            }

            async fn visible_site_ids(
                &self,
                after: Option<::plugway_domain::SiteId>,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_domain::SiteId>> {
                use ::sqlx::Row as _;
                let rows = ::sqlx::query(
                    "SELECT id FROM sites WHERE visible = TRUE AND id > $1 ORDER BY id LIMIT $2",
                )
                .bind(after.map(|id| id.to_text()).unwrap_or_default())
                .bind(limit)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?;
                rows.iter()
                    .map(|r| {
                        let id: String = r.try_get("id").map_err($crate::map_err)?;
                        Ok(::plugway_domain::SiteId($crate::parse_uuid(&id)?))
                    })
                    .collect()
            }

            async fn site_search_texts(
                &self,
                ids: &[::plugway_domain::SiteId],
            ) -> ::plugway_store::Result<Vec<(::plugway_domain::SiteId, String)>> {
                use ::sqlx::Row as _;
                let mut out = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(500) {
                    let sql = format!(
                        "SELECT id, search_text FROM sites WHERE id IN ({})",
                        placeholders(1, chunk.len())
                    );
                    let mut query = ::sqlx::query(&sql);
                    for id in chunk {
                        query = query.bind(id.to_text());
                    }
                    for row in query.fetch_all(&self.reader).await.map_err($crate::map_err)? {
                        let id: String = row.try_get("id").map_err($crate::map_err)?;
                        out.push((
                            ::plugway_domain::SiteId($crate::parse_uuid(&id)?),
                            row.try_get("search_text").map_err($crate::map_err)?,
                        ));
                    }
                }
                Ok(out)
            }

            async fn network_changes_after(
                &self,
                after: i64,
                limit: i64,
            ) -> ::plugway_store::Result<Vec<::plugway_store::NetworkChange>> {
                use ::sqlx::Row as _;
                let rows = ::sqlx::query(
                    "SELECT seq, site_id, charge_point_id FROM network_changes \
                     WHERE seq > $1 ORDER BY seq LIMIT $2",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(&self.reader)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map(network_change_from_row).collect()
            }

            async fn network_changes_in(
                &self,
                seqs: &[i64],
            ) -> ::plugway_store::Result<Vec<::plugway_store::NetworkChange>> {
                let mut out = Vec::new();
                for chunk in seqs.chunks(500) {
                    let sql = format!(
                        "SELECT seq, site_id, charge_point_id FROM network_changes WHERE seq IN ({}) ORDER BY seq",
                        placeholders(1, chunk.len())
                    );
                    let mut query = ::sqlx::query(&sql);
                    for seq in chunk {
                        query = query.bind(*seq);
                    }
                    for row in query.fetch_all(&self.reader).await.map_err($crate::map_err)? {
                        out.push(network_change_from_row(&row)?);
                    }
                }
                Ok(out)
            }

            async fn network_change_bounds(&self) -> ::plugway_store::Result<(i64, Option<i64>)> {
                use ::sqlx::Row as _;
                let row = ::sqlx::query(
                    "SELECT MAX(seq) AS newest, MIN(seq) AS oldest FROM network_changes",
                )
                .fetch_one(&self.reader)
                .await
                .map_err($crate::map_err)?;
                let newest: Option<i64> = row.try_get("newest").map_err($crate::map_err)?;
                let oldest: Option<i64> = row.try_get("oldest").map_err($crate::map_err)?;
                Ok((newest.unwrap_or(0), oldest))
            }

            async fn prune_network_changes(&self, seq: i64) -> ::plugway_store::Result<u64> {
                let done = ::sqlx::query("DELETE FROM network_changes WHERE seq <= $1")
                    .bind(seq)
                    .execute(&self.writer)
                    .await
                    .map_err($crate::map_err)?;
                Ok(done.rows_affected())
            }
        }
    };
}
