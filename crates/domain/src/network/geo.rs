//! Points and boxes on the Earth, treated as a sphere: good to about 0.5 %,
//! which is plenty for "chargers near me".

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// The mean Earth radius (IUGG), in metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Slack added around a box from [`BoundingBox::around`] (about 1 cm) so
/// that points exactly on the circle are not lost to rounding; near the
/// poles longitudes are sensitive to the last bits of a computation.
const SLACK_DEG: f64 = 1e-7;

/// A point on the Earth in WGS 84 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawCoordinates")]
pub struct Coordinates {
    /// Latitude, -90 (south pole) to 90.
    pub lat: f64,
    /// Longitude, -180 to 180 (east positive).
    pub lng: f64,
}

/// The serde shape of [`Coordinates`], checked on the way in so that a
/// stored or posted point is always in range.
#[derive(Deserialize)]
struct RawCoordinates {
    lat: f64,
    lng: f64,
}

impl TryFrom<RawCoordinates> for Coordinates {
    type Error = ValidationError;

    fn try_from(raw: RawCoordinates) -> Result<Self, Self::Error> {
        Self::new(raw.lat, raw.lng)
    }
}

/// `value` if it is a finite number within ±`limit`.
fn in_range(field: &'static str, value: f64, limit: f64) -> Result<f64, ValidationError> {
    if value.is_finite() && (-limit..=limit).contains(&value) {
        Ok(value)
    } else {
        Err(ValidationError::new(
            field,
            format!("must be a number from -{limit} to {limit}"),
        ))
    }
}

impl Coordinates {
    /// Checks a point: finite, latitude within ±90, longitude within ±180.
    pub fn new(lat: f64, lng: f64) -> Result<Self, ValidationError> {
        Ok(Self {
            lat: in_range("lat", lat, 90.0)?,
            lng: in_range("lng", lng, 180.0)?,
        })
    }

    /// The great-circle distance in metres (haversine formula).
    pub fn distance_m(self, other: Coordinates) -> f64 {
        let (lat1, lat2) = (self.lat.to_radians(), other.lat.to_radians());
        let d_lat = lat2 - lat1;
        let d_lng = (other.lng - self.lng).to_radians();
        let h = (d_lat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (d_lng / 2.0).sin().powi(2);
        // Rounding can push h a hair above 1 for antipodes; asin would give NaN.
        2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
    }

    /// The point on the unit sphere, `[x, y, z]`. The straight-line (chord)
    /// distance between two such points grows with their great-circle
    /// distance, so a database can rank and cut by distance with arithmetic
    /// alone (no trigonometry in SQL, no antimeridian special case).
    pub fn unit_vector(self) -> [f64; 3] {
        let (lat, lng) = (self.lat.to_radians(), self.lng.to_radians());
        [lat.cos() * lng.cos(), lat.cos() * lng.sin(), lat.sin()]
    }
}

/// The squared unit-sphere chord of a great-circle distance of `metres`
/// (the bound to compare [`Coordinates::unit_vector`] differences with).
pub fn chord2_for_distance(metres: f64) -> f64 {
    let angle = (metres.max(0.0) / EARTH_RADIUS_M).min(std::f64::consts::PI);
    let chord = 2.0 * (angle / 2.0).sin();
    chord * chord
}

/// The squared unit-sphere chord between two points.
pub fn chord2(a: [f64; 3], b: [f64; 3]) -> f64 {
    a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum()
}

/// A latitude/longitude box. `west > east` means the box crosses the
/// antimeridian (it runs east from `west` through 180° to `east`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundingBox {
    /// Southern edge, degrees.
    pub south: f64,
    /// Western edge, degrees.
    pub west: f64,
    /// Northern edge, degrees.
    pub north: f64,
    /// Eastern edge, degrees.
    pub east: f64,
}

impl BoundingBox {
    /// From two corners as seed 001 sends them (bottom-left, upper-right). Valid ranges; south <= north.
    /// west > east means the box crosses the antimeridian (allowed).
    pub fn new(south: f64, west: f64, north: f64, east: f64) -> Result<Self, ValidationError> {
        let south = in_range("south", south, 90.0)?;
        let west = in_range("west", west, 180.0)?;
        let north = in_range("north", north, 90.0)?;
        let east = in_range("east", east, 180.0)?;
        if south > north {
            return Err(ValidationError::new(
                "north",
                "must not be south of the southern edge",
            ));
        }
        Ok(Self {
            south,
            west,
            north,
            east,
        })
    }

    /// The smallest box holding every point within radius_m of center (clamped at the poles: if the circle reaches a pole, the box spans all longitudes).
    ///
    /// A negative or NaN radius counts as 0. The box is padded by about a
    /// centimetre against rounding.
    pub fn around(center: Coordinates, radius_m: f64) -> Self {
        // `max` maps NaN to 0 too.
        let angular = radius_m.max(0.0) / EARTH_RADIUS_M;
        let lat = center.lat.to_radians();
        let south = (lat - angular).to_degrees() - SLACK_DEG;
        let north = (lat + angular).to_degrees() + SLACK_DEG;
        if south <= -90.0 || north >= 90.0 {
            // The circle holds a pole, where every meridian meets.
            return Self {
                south: south.max(-90.0),
                west: -180.0,
                north: north.min(90.0),
                east: 180.0,
            };
        }
        // The widest point of the circle is not at the centre's latitude but
        // where a meridian is tangent to it: sin(Δλ) = sin(d) / cos(φ).
        // Here |φ| + d < 90°, so the ratio is below 1 except for rounding.
        let half_width = (angular.sin() / lat.cos()).min(1.0).asin().to_degrees() + SLACK_DEG;
        let mut west = center.lng - half_width;
        if west < -180.0 {
            west += 360.0;
        }
        let mut east = center.lng + half_width;
        if east > 180.0 {
            east -= 360.0;
        }
        Self {
            south,
            west,
            north,
            east,
        }
    }

    /// One or two boxes that do not cross the antimeridian (west <= east in each), covering the same area.
    pub fn split_at_antimeridian(self) -> Vec<BoundingBox> {
        if self.west <= self.east {
            return vec![self];
        }
        vec![
            Self {
                east: 180.0,
                ..self
            },
            Self {
                west: -180.0,
                ..self
            },
        ]
    }

    /// Whether the point is in the box, edges included.
    pub fn contains(self, point: Coordinates) -> bool {
        if !(self.south <= point.lat && point.lat <= self.north) {
            return false;
        }
        // At a pole every longitude names the same point.
        if point.lat.abs() >= 90.0 {
            return true;
        }
        let within = |lng: f64| {
            if self.west <= self.east {
                self.west <= lng && lng <= self.east
            } else {
                lng >= self.west || lng <= self.east
            }
        };
        // -180 and 180 are the same meridian.
        within(point.lng) || (point.lng.abs() >= 180.0 && within(-point.lng))
    }

    /// The middle of the box (on the antimeridian side when it crosses it).
    pub fn center(self) -> Coordinates {
        let lat = (self.south + self.north) / 2.0;
        let lng = if self.west <= self.east {
            (self.west + self.east) / 2.0
        } else {
            let mid = (self.west + self.east + 360.0) / 2.0;
            if mid > 180.0 {
                mid - 360.0
            } else {
                mid
            }
        };
        Coordinates { lat, lng }
    }
}

#[cfg(test)]
mod tests {
    use super::{chord2, chord2_for_distance};

    #[test]
    fn chords_rank_and_cut_like_great_circle_distance() {
        let centre = Coordinates::new(47.9, 106.9).unwrap();
        let points = [
            (47.95, 106.9),
            (47.9, 107.05),
            (48.2, 106.5),
            (-33.9, 151.2),
            (47.9, -73.1),
        ];
        let mut by_distance: Vec<_> = points
            .iter()
            .map(|&(a, b)| Coordinates::new(a, b).unwrap())
            .collect();
        let mut by_chord = by_distance.clone();
        by_distance.sort_by(|p, q| centre.distance_m(*p).total_cmp(&centre.distance_m(*q)));
        by_chord.sort_by(|p, q| {
            chord2(centre.unit_vector(), p.unit_vector())
                .total_cmp(&chord2(centre.unit_vector(), q.unit_vector()))
        });
        assert_eq!(by_distance, by_chord);
        for p in by_distance {
            let d = centre.distance_m(p);
            let c = chord2(centre.unit_vector(), p.unit_vector());
            assert!(c <= chord2_for_distance(d * 1.000_001));
            assert!(c >= chord2_for_distance(d * 0.999_999));
        }
        // Across the antimeridian, too.
        let east = Coordinates::new(0.0, 179.99).unwrap();
        let west = Coordinates::new(0.0, -179.99).unwrap();
        assert!(
            chord2(east.unit_vector(), west.unit_vector())
                <= chord2_for_distance(east.distance_m(west) * 1.000_001)
        );
    }

    use super::*;
    use proptest::prelude::*;

    fn point(lat: f64, lng: f64) -> Coordinates {
        Coordinates::new(lat, lng).unwrap()
    }

    /// The point `distance_m` from `from` on the initial bearing (degrees
    /// clockwise from north): the textbook direct formula on a sphere,
    /// written independently of `around`.
    fn destination(from: Coordinates, bearing_deg: f64, distance_m: f64) -> Coordinates {
        let d = distance_m / EARTH_RADIUS_M;
        let theta = bearing_deg.to_radians();
        let lat1 = from.lat.to_radians();
        let lng1 = from.lng.to_radians();
        let lat2 = (lat1.sin() * d.cos() + lat1.cos() * d.sin() * theta.cos())
            .clamp(-1.0, 1.0)
            .asin();
        let lng2 =
            lng1 + (theta.sin() * d.sin() * lat1.cos()).atan2(d.cos() - lat1.sin() * lat2.sin());
        let mut lng = lng2.to_degrees();
        while lng > 180.0 {
            lng -= 360.0;
        }
        while lng < -180.0 {
            lng += 360.0;
        }
        Coordinates {
            lat: lat2.to_degrees(),
            lng,
        }
    }

    #[test]
    fn known_distances() {
        let paris = point(48.8566, 2.3522);
        let london = point(51.5074, -0.1278);
        let d = paris.distance_m(london);
        assert!((d - 343_500.0).abs() < 343_500.0 * 0.005, "{d}");
        assert_eq!(d, london.distance_m(paris));
        assert_eq!(paris.distance_m(paris), 0.0);
        // One degree of latitude is R·π/180 on the sphere.
        let one_degree = point(10.0, 5.0).distance_m(point(11.0, 5.0));
        assert!((one_degree - 111_195.08).abs() < 0.01, "{one_degree}");
        // Antipodes: half the circumference, not NaN.
        let half = point(0.0, 0.0).distance_m(point(0.0, 180.0));
        assert!((half - EARTH_RADIUS_M * std::f64::consts::PI).abs() < 1e-3);
        // The short way across the antimeridian.
        let across = point(0.0, 179.5).distance_m(point(0.0, -179.5));
        assert!((across - 111_195.08).abs() < 0.01, "{across}");
    }

    #[test]
    fn invalid_points_and_boxes_are_refused() {
        assert_eq!(Coordinates::new(90.5, 0.0).unwrap_err().field, "lat");
        assert_eq!(Coordinates::new(f64::NAN, 0.0).unwrap_err().field, "lat");
        assert_eq!(Coordinates::new(0.0, -180.1).unwrap_err().field, "lng");
        assert_eq!(
            Coordinates::new(0.0, f64::INFINITY).unwrap_err().field,
            "lng"
        );
        assert!(Coordinates::new(-90.0, 180.0).is_ok());
        assert_eq!(
            BoundingBox::new(10.0, 0.0, 9.0, 1.0).unwrap_err().field,
            "north"
        );
        assert_eq!(
            BoundingBox::new(-91.0, 0.0, 9.0, 1.0).unwrap_err().field,
            "south"
        );
        assert_eq!(
            BoundingBox::new(0.0, 200.0, 9.0, 1.0).unwrap_err().field,
            "west"
        );
        assert_eq!(
            BoundingBox::new(0.0, 0.0, 9.0, f64::NAN).unwrap_err().field,
            "east"
        );
        // Crossing the antimeridian is not an error.
        assert!(BoundingBox::new(0.0, 170.0, 9.0, -170.0).is_ok());
    }

    #[test]
    fn coordinates_are_checked_when_deserialized() {
        let p: Coordinates = serde_json::from_str(r#"{"lat":14.5,"lng":121.0}"#).unwrap();
        assert_eq!(p, point(14.5, 121.0));
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"lat":14.5,"lng":121.0}"#
        );
        let err = serde_json::from_str::<Coordinates>(r#"{"lat":95,"lng":0}"#).unwrap_err();
        assert!(err.to_string().contains("lat"), "{err}");
    }

    #[test]
    fn around_holds_the_whole_circle_and_no_more() {
        let cases = [
            (point(48.8566, 2.3522), 10_000.0),
            (point(-33.87, 151.21), 500_000.0),
            (point(47.92, 106.92), 2_000_000.0),
            (point(0.0, 179.99), 5_000.0),
            (point(-60.0, -179.0), 300_000.0),
            (point(14.6, 121.0), 0.0),
        ];
        for (center, radius) in cases {
            let bbox = BoundingBox::around(center, radius);
            let offset = |lng: f64| {
                let d = lng - center.lng;
                if d > 180.0 {
                    d - 360.0
                } else if d < -180.0 {
                    d + 360.0
                } else {
                    d
                }
            };
            let (mut min_lat, mut max_lat, mut max_offset) = (f64::MAX, f64::MIN, 0.0_f64);
            for step in 0..3600 {
                let p = destination(center, f64::from(step) / 10.0, radius);
                assert!(bbox.contains(p), "{center:?} {radius} {p:?} {bbox:?}");
                min_lat = min_lat.min(p.lat);
                max_lat = max_lat.max(p.lat);
                max_offset = max_offset.max(offset(p.lng));
            }
            assert!(bbox.contains(center));
            // Tight: the edges are where the circle reaches, give or take the
            // slack and the bearing sampling.
            assert!((bbox.north - max_lat).abs() < 1e-6, "{bbox:?} {max_lat}");
            assert!((bbox.south - min_lat).abs() < 1e-6, "{bbox:?} {min_lat}");
            let east_offset = offset(bbox.east);
            let west_offset = offset(bbox.west);
            assert!(
                (east_offset - max_offset).abs() < 1e-4,
                "{bbox:?} {max_offset}"
            );
            assert!(
                (west_offset + max_offset).abs() < 1e-4,
                "{bbox:?} {max_offset}"
            );
        }
    }

    #[test]
    fn around_the_antimeridian_splits_in_two() {
        let bbox = BoundingBox::around(point(0.0, 179.99), 5_000.0);
        assert!(bbox.west > bbox.east, "{bbox:?}");
        assert!(bbox.contains(point(0.0, -179.99)));
        assert!(bbox.contains(point(0.0, 180.0)));
        assert!(bbox.contains(point(0.0, -180.0)));
        assert!(!bbox.contains(point(0.0, 0.0)));
        let parts = bbox.split_at_antimeridian();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|b| b.west <= b.east));
        assert_eq!((parts[0].west, parts[0].east), (bbox.west, 180.0));
        assert_eq!((parts[1].west, parts[1].east), (-180.0, bbox.east));
        for p in [point(0.01, 179.98), point(-0.01, -179.97)] {
            assert!(parts.iter().any(|b| b.contains(p)));
        }
        assert!((bbox.center().lng - 179.99).abs() < 1e-9);
        // A box that does not cross stays whole.
        let plain = BoundingBox::new(1.0, 2.0, 3.0, 4.0).unwrap();
        assert_eq!(plain.split_at_antimeridian(), [plain]);
        assert_eq!(plain.center(), point(2.0, 3.0));
        let wide = BoundingBox::new(-1.0, 170.0, 1.0, -170.0).unwrap();
        assert_eq!(wide.center().lng.abs(), 180.0);
        let lopsided = BoundingBox::new(-1.0, 100.0, 1.0, -120.0).unwrap();
        assert_eq!(lopsided.center().lng, 170.0);
        let other_side = BoundingBox::new(-1.0, 120.0, 1.0, -100.0).unwrap();
        assert_eq!(other_side.center().lng, -170.0);
    }

    #[test]
    fn around_a_pole_spans_every_longitude() {
        let bbox = BoundingBox::around(point(89.9, 10.0), 20_000.0);
        assert_eq!((bbox.west, bbox.east, bbox.north), (-180.0, 180.0, 90.0));
        assert!((bbox.south - (89.9 - 20_000.0 / 111_195.08)).abs() < 1e-6);
        assert!(bbox.contains(point(89.9, -170.0)));
        let south_pole = BoundingBox::around(point(-89.0, 0.0), 200_000.0);
        assert_eq!(south_pole.south, -90.0);
        assert!(south_pole.contains(point(-90.0, 55.0)));
        // A circle bigger than the Earth is the whole Earth.
        let everything = BoundingBox::around(point(0.0, 0.0), f64::INFINITY);
        assert_eq!(
            everything,
            BoundingBox::new(-90.0, -180.0, 90.0, 180.0).unwrap()
        );
        // Just short of the pole the longitudes stay bounded.
        let near = BoundingBox::around(point(80.0, 0.0), 100_000.0);
        assert!(near.north < 90.0 && near.east < 180.0 && near.east > 5.0);
    }

    #[test]
    fn nonsense_radii_mean_just_the_point() {
        for r in [-5.0, f64::NAN] {
            let bbox = BoundingBox::around(point(10.0, 20.0), r);
            assert!(bbox.contains(point(10.0, 20.0)));
            assert!(!bbox.contains(point(10.0, 20.001)));
        }
    }

    proptest! {
        #[test]
        fn around_contains_every_point_within_the_radius(
            lat in -90.0..=90.0_f64,
            lng in -180.0..=180.0_f64,
            radius in 0.0..5_000_000.0_f64,
            bearing in 0.0..360.0_f64,
            fraction in 0.0..=1.0_f64,
        ) {
            let center = point(lat, lng);
            let p = destination(center, bearing, radius * fraction);
            let bbox = BoundingBox::around(center, radius);
            prop_assert!(bbox.contains(p), "{:?} {:?} {:?}", center, p, bbox);
            // The test's own geometry agrees with distance_m.
            prop_assert!((center.distance_m(p) - radius * fraction).abs() < 0.01);
        }
    }
}
