//! CSV import of sites with their EVSEs (seed 003's "Register Locations
//! through CSV"). `POST /api/v1/host/sites/import` and
//! `plugway import sites FILE.csv` both run [`import`]; [`validate`] is the
//! part that only reads and checks (no writes, no HTTP). `docs/import.md`
//! describes the format for people.
//!
//! # Format
//!
//! - UTF-8 (a byte-order mark is ignored), comma-separated, `"` quotes, one
//!   header row, then **one row per EVSE**. Cells are trimmed; an empty cell
//!   is a value not given (optional text absent, lists empty, prices 0).
//! - Header names are case-insensitive and in any order. An unknown or
//!   repeated name is an error (a typo would otherwise drop data silently);
//!   empty header cells (trailing commas from spreadsheets) are ignored with
//!   their column.
//! - Rows with the same `site_ref` (a label local to the file, 1–64
//!   characters, not stored) belong to one site; they need not be adjacent.
//!   The **site columns are read from the first row of the group**; on the
//!   group's later rows each site cell must be empty or exactly the same text
//!   as on the first row (`site_mismatch` otherwise). So both "site columns
//!   on every row" and "site columns on the first row only" files work.
//! - Lists (`facilities`, `parking_types`, `parking_restrictions`,
//!   `capabilities`, `payment_types`) separate codes with `|` or `;`.
//! - Numbers use a decimal point. Prices are in the site currency's major
//!   unit ("12.50"), as in the REST API.
//! - One connector per row in `connector_*`; a second, optional, in
//!   `connector2_*` (all six cells, or none).
//! - Every row is checked with the REST API's own rules
//!   ([`SiteInput::into_fields`], [`EvseInput::into_fields`], the host's
//!   ownership of a linked charge point); within the file, EVSE codes are
//!   unique per site, an OCPP connector is linked once, and a site has at
//!   most [`MAX_EVSES_PER_SITE`] EVSEs.
//!
//! # Mode: all or nothing
//!
//! The whole file is read and checked first, row by row from the reader
//! (one record buffer is reused; the file is capped at [`MAX_BYTES`] and
//! [`MAX_ROWS`] rows; what is kept is the checked fields, not the text; the
//! HTTP route hands over the upload it received in chunks up to the cap). If
//! any row is bad, **nothing is written** and the report lists every problem
//! found as `{row, column, code, message}` (row = line number in the file,
//! the header being line 1), the first [`MAX_REPORTED_ERRORS`] of them, with
//! the total count.
//!
//! Only a file without problems is written. Before writing, each OCPP
//! connector the file links is checked against the EVSEs already stored
//! (a taken one is reported by row, `ImportError::Conflict`). Then all its
//! sites (pending approval, as over REST) and their EVSEs (pending) are
//! written in **one transaction** (`NetworkStore::insert_sites_bulk`), so
//! the file is in the database whole or not at all, also if the process
//! dies halfway; a conflict that appears between the check and the write
//! (another writer taking a connector) rolls the whole file back.
//! The write phase runs in a task of its own, so a client that hangs up does
//! not stop it halfway.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use plugway_domain::{Currency, EvseId, PhoneNumber, Role, SiteId, UserId};
use plugway_store::{Evse, EvseFields, Site, SiteFields, StoreError};
use serde::Serialize;

use crate::context::App;
use crate::error::{AppError, AppResult};
use crate::network::{
    check_charge_point_link, ConnectorInput, EvseInput, PriceInput, SiteInput, MAX_EVSES_PER_SITE,
};

/// Data rows one file may have.
pub const MAX_ROWS: u64 = 50_000;
/// Bytes one file may have (20 MiB).
pub const MAX_BYTES: u64 = 20 * 1024 * 1024;
/// Problems listed in a report (the count covers them all).
pub const MAX_REPORTED_ERRORS: usize = 100;
/// Rows between two progress reports while checking.
const PROGRESS_EVERY: u64 = 200;
/// Longest `site_ref`.
const MAX_SITE_REF: usize = 64;

macro_rules! columns {
    ($($variant:ident = $name:literal,)+) => {
        /// A column the importer knows.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Col {
            $($variant,)+
        }

        impl Col {
            const ALL: &'static [Col] = &[$(Col::$variant,)+];

            fn name(self) -> &'static str {
                match self {
                    $(Col::$variant => $name,)+
                }
            }
        }

        /// Every column name, in the documented order.
        pub const COLUMNS: &[&str] = &[$($name,)+];
    };
}

columns! {
    SiteRef = "site_ref",
    Name = "name",
    Address = "address",
    City = "city",
    Province = "province",
    Region = "region",
    PostalCode = "postal_code",
    CountryCode = "country_code",
    Latitude = "latitude",
    Longitude = "longitude",
    TimeZone = "time_zone",
    Currency = "currency",
    Facilities = "facilities",
    ParkingTypes = "parking_types",
    ParkingRestrictions = "parking_restrictions",
    EvseCode = "evse_code",
    SerialNumber = "serial_number",
    MeterType = "meter_type",
    ChargePointId = "charge_point_id",
    OcppConnectorId = "ocpp_connector_id",
    Capabilities = "capabilities",
    PaymentTypes = "payment_types",
    PricePerKwh = "price_per_kwh",
    PricePerHour = "price_per_hour",
    WaitingPricePerMinute = "waiting_price_per_minute",
    C1Standard = "connector_standard",
    C1Format = "connector_format",
    C1PowerType = "connector_power_type",
    C1MaxVoltage = "connector_max_voltage",
    C1MaxAmperage = "connector_max_amperage",
    C1MaxPowerKw = "connector_max_power_kw",
    C2Standard = "connector2_standard",
    C2Format = "connector2_format",
    C2PowerType = "connector2_power_type",
    C2MaxVoltage = "connector2_max_voltage",
    C2MaxAmperage = "connector2_max_amperage",
    C2MaxPowerKw = "connector2_max_power_kw",
}

/// The columns of the site, read from a group's first row.
const SITE_COLUMNS: &[Col] = &[
    Col::Name,
    Col::Address,
    Col::City,
    Col::Province,
    Col::Region,
    Col::PostalCode,
    Col::CountryCode,
    Col::Latitude,
    Col::Longitude,
    Col::TimeZone,
    Col::Currency,
    Col::Facilities,
    Col::ParkingTypes,
    Col::ParkingRestrictions,
];

/// The two connector slots: standard, format, power type, volts, amperes, kW.
const CONNECTOR_COLUMNS: [[Col; 6]; 2] = [
    [
        Col::C1Standard,
        Col::C1Format,
        Col::C1PowerType,
        Col::C1MaxVoltage,
        Col::C1MaxAmperage,
        Col::C1MaxPowerKw,
    ],
    [
        Col::C2Standard,
        Col::C2Format,
        Col::C2PowerType,
        Col::C2MaxVoltage,
        Col::C2MaxAmperage,
        Col::C2MaxPowerKw,
    ],
];

/// Columns every file must have.
const REQUIRED_COLUMNS: &[Col] = &[
    Col::SiteRef,
    Col::Name,
    Col::Address,
    Col::City,
    Col::Province,
    Col::CountryCode,
    Col::Latitude,
    Col::Longitude,
    Col::Currency,
    Col::EvseCode,
    Col::C1Standard,
    Col::C1Format,
    Col::C1PowerType,
    Col::C1MaxVoltage,
    Col::C1MaxAmperage,
    Col::C1MaxPowerKw,
];

/// Site cells that may not be empty on a group's first row.
const REQUIRED_SITE_TEXT: [Col; 6] = [
    Col::Name,
    Col::Address,
    Col::City,
    Col::Province,
    Col::CountryCode,
    Col::Currency,
];

/// One problem in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// Line number in the file (the header is line 1).
    pub row: u64,
    /// The column at fault, when there is one.
    pub column: Option<String>,
    /// Stable, snake_case: `missing_column`, `unknown_column`,
    /// `duplicate_column`, `empty_file`, `no_rows`, `malformed_row`,
    /// `file_too_large`, `too_many_rows`, `required`, `invalid_number`,
    /// `invalid_field` (the REST API's rules), `site_mismatch`,
    /// `duplicate_evse_code`, `duplicate_charge_point_connector`,
    /// `too_many_evses`, `evse_code_taken`, `charge_point_connector_taken`.
    pub code: String,
    /// For people.
    pub message: String,
}

/// The problems of a file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The first [`MAX_REPORTED_ERRORS`] problems, in file order.
    pub errors: Vec<RowError>,
    /// How many problems were found in all.
    pub error_count: usize,
}

impl Report {
    fn push(&mut self, row: u64, column: Option<&str>, code: &str, message: impl Into<String>) {
        self.error_count += 1;
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(RowError {
                row,
                column: column.map(str::to_owned),
                code: code.to_owned(),
                message: message.into(),
            });
        }
    }

    /// No problem found.
    pub fn is_empty(&self) -> bool {
        self.error_count == 0
    }

    /// One line for people: how many problems, and that nothing was imported.
    pub fn summary(&self) -> String {
        let listed = if self.error_count > self.errors.len() {
            format!(" (the first {} are listed)", self.errors.len())
        } else {
            String::new()
        };
        let plural = if self.error_count == 1 { "" } else { "s" };
        format!(
            "{} problem{plural} in the file{listed}; nothing was imported",
            self.error_count
        )
    }
}

/// How far an import got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Reading and checking: bytes and data rows read so far.
    Validating {
        /// Bytes of the file read.
        bytes: u64,
        /// Data rows read.
        rows: u64,
    },
    /// Writing: EVSEs stored so far, of all.
    Importing {
        /// EVSEs stored.
        done: u64,
        /// EVSEs to store.
        total: u64,
    },
}

/// A checked file, ready to be written.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Sites in the order of their first row.
    pub sites: Vec<PlannedSite>,
    /// Data rows read.
    pub rows: u64,
}

impl Plan {
    /// EVSEs in all sites.
    pub fn evse_count(&self) -> usize {
        self.sites.iter().map(|s| s.evses.len()).sum()
    }
}

/// A checked site with its EVSEs.
#[derive(Debug, Clone)]
pub struct PlannedSite {
    /// Line of its first row.
    pub line: u64,
    /// Its label in the file.
    pub site_ref: String,
    /// Checked fields.
    pub fields: SiteFields,
    /// Its EVSEs, in file order.
    pub evses: Vec<PlannedEvse>,
}

/// A checked EVSE.
#[derive(Debug, Clone)]
pub struct PlannedEvse {
    /// Its row.
    pub line: u64,
    /// Checked fields.
    pub fields: EvseFields,
}

/// What an import wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// Sites created.
    pub sites: usize,
    /// EVSEs created.
    pub evses: usize,
    /// The new sites, in file order.
    pub site_ids: Vec<SiteId>,
}

/// Why an import wrote nothing.
#[derive(Debug)]
pub enum ImportError {
    /// The file has problems; nothing was written.
    Invalid(Report),
    /// A write failed on a conflict with data outside the file; what the
    /// import had written was removed again.
    Conflict(Report),
    /// Anything else (database unavailable, ...); what the import had
    /// written was removed again if the database allowed it.
    Failed(AppError),
}

impl From<AppError> for ImportError {
    fn from(e: AppError) -> Self {
        Self::Failed(e)
    }
}

/// Column positions of one file.
#[derive(Debug, Clone)]
struct Header {
    /// Position of each [`Col`] (by discriminant) in the records.
    positions: Vec<Option<usize>>,
}

impl Header {
    /// Maps header names to columns; every problem of the header at once.
    fn parse(record: &csv::StringRecord) -> Result<Self, Report> {
        let mut report = Report::default();
        if record.iter().all(str::is_empty) {
            report.push(
                1,
                None,
                "empty_file",
                "the file is empty: it needs a header row and at least one row",
            );
            return Err(report);
        }
        let mut positions = vec![None; Col::ALL.len()];
        for (index, raw) in record.iter().enumerate() {
            if raw.is_empty() {
                continue;
            }
            let name = raw.to_ascii_lowercase();
            match Col::ALL.iter().find(|c| c.name() == name) {
                Some(col) => match positions.get_mut(*col as usize) {
                    Some(Some(_)) => report.push(
                        1,
                        Some(col.name()),
                        "duplicate_column",
                        "this column appears twice in the header",
                    ),
                    Some(slot) => *slot = Some(index),
                    None => {}
                },
                None => report.push(
                    1,
                    Some(raw),
                    "unknown_column",
                    "not a column of the import format (see docs/import.md)",
                ),
            }
        }
        let header = Self { positions };
        for col in REQUIRED_COLUMNS {
            if header.position(*col).is_none() {
                report.push(
                    1,
                    Some(col.name()),
                    "missing_column",
                    "the header lacks this required column",
                );
            }
        }
        let second: &[Col] = CONNECTOR_COLUMNS.get(1).map_or(&[], |c| &c[..]);
        if second.iter().any(|c| header.position(*c).is_some()) {
            for col in second {
                if header.position(*col).is_none() {
                    report.push(
                        1,
                        Some(col.name()),
                        "missing_column",
                        "a second connector needs all six connector2_ columns",
                    );
                }
            }
        }
        if report.is_empty() {
            Ok(header)
        } else {
            Err(report)
        }
    }

    fn position(&self, col: Col) -> Option<usize> {
        self.positions.get(col as usize).copied().flatten()
    }
}

/// One data row being read: its cells and the problems found in them.
struct Row<'a> {
    header: &'a Header,
    record: &'a csv::StringRecord,
    line: u64,
    report: &'a mut Report,
    /// Problems found in this row so far.
    faults: usize,
}

impl<'a> Row<'a> {
    fn text(&self, col: Col) -> &'a str {
        self.header
            .position(col)
            .and_then(|i| self.record.get(i))
            .unwrap_or("")
    }

    fn optional(&self, col: Col) -> Option<String> {
        Some(self.text(col))
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    }

    fn list(&self, col: Col) -> Vec<String> {
        split_list(self.text(col))
    }

    fn fault(&mut self, col: Option<&str>, code: &str, message: impl Into<String>) {
        self.faults += 1;
        self.report.push(self.line, col, code, message);
    }

    fn required(&mut self, col: Col) -> Option<String> {
        let text = self.text(col);
        if text.is_empty() {
            self.fault(Some(col.name()), "required", "must not be empty");
            None
        } else {
            Some(text.to_owned())
        }
    }

    /// A number; `None` (with a fault) when unreadable, or when empty and required.
    fn number<T: std::str::FromStr>(&mut self, col: Col, required: bool) -> Option<T> {
        let text = self.text(col);
        if text.is_empty() {
            if required {
                self.fault(Some(col.name()), "required", "must not be empty");
            }
            return None;
        }
        match text.parse() {
            Ok(n) => Some(n),
            Err(_) => {
                self.fault(
                    Some(col.name()),
                    "invalid_number",
                    format!("{text:?} is not a number"),
                );
                None
            }
        }
    }

    /// The site as the REST API would receive it, if its cells can be read.
    fn site_input(&mut self) -> Option<SiteInput> {
        let [name, address, city, province, country_code, currency] =
            REQUIRED_SITE_TEXT.map(|c| self.required(c));
        let latitude = self.number::<f64>(Col::Latitude, true);
        let longitude = self.number::<f64>(Col::Longitude, true);
        Some(SiteInput {
            name: name?,
            address: address?,
            city: city?,
            province: province?,
            country_code: country_code?,
            currency: currency?,
            region: self.optional(Col::Region),
            postal_code: self.optional(Col::PostalCode),
            latitude: latitude?,
            longitude: longitude?,
            time_zone: self.optional(Col::TimeZone),
            opening_hours: None,
            facilities: self.list(Col::Facilities),
            parking_types: self.list(Col::ParkingTypes),
            parking_restrictions: self.list(Col::ParkingRestrictions),
            published: true,
        })
    }

    fn connector(&mut self, cols: [Col; 6]) -> Option<ConnectorInput> {
        let [standard, format, power_type, volts, amps, kw] = cols;
        let standard = self.required(standard);
        let format = self.required(format);
        let power_type = self.required(power_type);
        let max_voltage = self.number::<i32>(volts, true);
        let max_amperage = self.number::<i32>(amps, true);
        let max_power_kw = self.number::<f64>(kw, true);
        Some(ConnectorInput {
            standard: standard?,
            format: format?,
            power_type: power_type?,
            max_voltage: max_voltage?,
            max_amperage: max_amperage?,
            max_power_kw: max_power_kw?,
        })
    }

    /// The EVSE as the REST API would receive it, if its cells can be read.
    fn evse_input(&mut self) -> Option<EvseInput> {
        let before = self.faults;
        let evse_code = self.required(Col::EvseCode);
        let ocpp_connector_id = self.number::<i64>(Col::OcppConnectorId, false);
        let per_kwh = self.number::<f64>(Col::PricePerKwh, false);
        let per_hour = self.number::<f64>(Col::PricePerHour, false);
        let waiting = self.number::<f64>(Col::WaitingPricePerMinute, false);
        let mut connectors = Vec::new();
        for (slot, cols) in CONNECTOR_COLUMNS.iter().enumerate() {
            let given = cols.iter().any(|c| !self.text(*c).is_empty());
            if slot == 0 || given {
                connectors.extend(self.connector(*cols));
            }
        }
        if self.faults > before {
            return None;
        }
        Some(EvseInput {
            evse_code: evse_code.unwrap_or_default(),
            serial_number: self.optional(Col::SerialNumber),
            meter_type: self.optional(Col::MeterType),
            charge_point_id: self.optional(Col::ChargePointId),
            ocpp_connector_id,
            status: None,
            capabilities: self.list(Col::Capabilities),
            payment_types: self.list(Col::PaymentTypes),
            prices: PriceInput {
                per_kwh: per_kwh.unwrap_or_default(),
                per_hour: per_hour.unwrap_or_default(),
                waiting_per_minute: waiting.unwrap_or_default(),
            },
            connectors,
        })
    }

    /// Reports a rule of the REST API that the row breaks.
    fn rule(&mut self, column: &str, e: &AppError) {
        let message = e
            .field
            .and_then(|f| e.message.strip_prefix(f))
            .and_then(|m| m.strip_prefix(": "))
            .unwrap_or(&e.message)
            .to_owned();
        self.fault(Some(column), e.code, message);
    }
}

/// Splits a list cell on `|` or `;`, dropping blanks.
fn split_list(text: &str) -> Vec<String> {
    text.split(['|', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The CSV column of a field the REST API's site rules name.
fn site_column(field: &str) -> &str {
    match field {
        "lat" => Col::Latitude.name(),
        "lng" => Col::Longitude.name(),
        other => other,
    }
}

/// The CSV column of a field the REST API's EVSE rules name; connector
/// fields are in `slot` (0 or 1).
fn evse_column(field: &str, slot: usize) -> String {
    let prefix = if slot == 0 { "connector" } else { "connector2" };
    match field {
        "prices.per_kwh" => Col::PricePerKwh.name().to_owned(),
        "prices.per_hour" => Col::PricePerHour.name().to_owned(),
        "prices.waiting_per_minute" => Col::WaitingPricePerMinute.name().to_owned(),
        "standard" | "format" | "power_type" | "max_voltage" | "max_amperage" | "max_power_kw" => {
            format!("{prefix}_{field}")
        }
        other => other.to_owned(),
    }
}

fn is_connector_field(e: &AppError) -> bool {
    matches!(
        e.field,
        Some(
            "standard" | "format" | "power_type" | "max_voltage" | "max_amperage" | "max_power_kw"
        )
    )
}

/// Why reading stopped early.
#[derive(Debug)]
struct TooLarge;

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the file is larger than {MAX_BYTES} bytes")
    }
}

impl std::error::Error for TooLarge {}

/// A reader that fails once more than `limit` bytes came through.
struct Capped<R> {
    inner: R,
    read: u64,
    limit: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read = self.read.saturating_add(n as u64);
        if self.read > self.limit {
            return Err(std::io::Error::other(TooLarge));
        }
        Ok(n)
    }
}

/// A site group while the file is read.
struct Group {
    line: u64,
    site_ref: String,
    /// `None` when the first row's site is bad (already reported).
    fields: Option<SiteFields>,
    /// The currency for the group's prices, when it could be read.
    currency: Option<Currency>,
    /// The first row's site cells, to compare later rows with.
    cells: Vec<String>,
    evses: Vec<PlannedEvse>,
    rows: usize,
}

/// Reads and checks a whole file; writes nothing. `Err` holds every problem
/// (the first [`MAX_REPORTED_ERRORS`] listed). `state` gives the clock and
/// id generator the EVSE rules use for connector ids.
pub fn validate<R: Read>(
    state: &App,
    reader: R,
    progress: &dyn Fn(Progress),
) -> Result<Plan, Report> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(Capped {
            inner: reader,
            read: 0,
            limit: MAX_BYTES,
        });
    let mut report = Report::default();
    let header = match csv.headers() {
        Ok(record) => Header::parse(record)?,
        Err(e) => {
            read_error(&mut report, &e, 1);
            return Err(report);
        }
    };
    let mut groups: Vec<Group> = Vec::new();
    let mut by_ref: HashMap<String, usize> = HashMap::new();
    let mut ports: HashMap<(String, i64), u64> = HashMap::new();
    let mut record = csv::StringRecord::new();
    let mut rows: u64 = 0;
    let mut next_progress = PROGRESS_EVERY;
    loop {
        match csv.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e.position().map_or(rows + 2, |p| p.line());
                if read_error(&mut report, &e, line) {
                    return Err(report);
                }
                rows += 1;
                continue;
            }
        }
        rows += 1;
        let line = record.position().map_or(rows + 1, |p| p.line());
        if rows > MAX_ROWS {
            report.push(
                line,
                None,
                "too_many_rows",
                format!("a file may have at most {MAX_ROWS} rows; split it"),
            );
            return Err(report);
        }
        let mut row = Row {
            header: &header,
            record: &record,
            line,
            report: &mut report,
            faults: 0,
        };
        check_row(state, &mut row, &mut groups, &mut by_ref, &mut ports);
        if rows >= next_progress {
            next_progress += PROGRESS_EVERY;
            progress(Progress::Validating {
                bytes: csv.position().byte(),
                rows,
            });
        }
    }
    progress(Progress::Validating {
        bytes: csv.position().byte(),
        rows,
    });
    if rows == 0 {
        report.push(
            2,
            None,
            "no_rows",
            "the file has a header but no rows to import",
        );
    }
    if !report.is_empty() {
        return Err(report);
    }
    let sites = groups
        .into_iter()
        .filter_map(|g| {
            Some(PlannedSite {
                line: g.line,
                site_ref: g.site_ref,
                fields: g.fields?,
                evses: g.evses,
            })
        })
        .collect();
    Ok(Plan { sites, rows })
}

/// Reports a read error; true when reading cannot go on.
fn read_error(report: &mut Report, e: &csv::Error, line: u64) -> bool {
    match e.kind() {
        csv::ErrorKind::Io(io) => {
            if io.get_ref().is_some_and(|inner| inner.is::<TooLarge>()) {
                report.push(
                    line,
                    None,
                    "file_too_large",
                    format!(
                        "a file may have at most {} MiB; split it",
                        MAX_BYTES / 1024 / 1024
                    ),
                );
            } else {
                report.push(
                    line,
                    None,
                    "read_failed",
                    format!("the file could not be read: {io}"),
                );
            }
            true
        }
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            report.push(
                line,
                None,
                "malformed_row",
                format!("the row has {len} cells where the header has {expected_len}"),
            );
            false
        }
        csv::ErrorKind::Utf8 { .. } => {
            report.push(line, None, "malformed_row", "the row is not valid UTF-8");
            false
        }
        _ => {
            report.push(line, None, "malformed_row", e.to_string());
            false
        }
    }
}

/// Checks one data row and adds it to its site group.
fn check_row(
    state: &App,
    row: &mut Row<'_>,
    groups: &mut Vec<Group>,
    by_ref: &mut HashMap<String, usize>,
    ports: &mut HashMap<(String, i64), u64>,
) {
    let Some(site_ref) = row.required(Col::SiteRef) else {
        return;
    };
    if site_ref.chars().count() > MAX_SITE_REF {
        row.fault(
            Some(Col::SiteRef.name()),
            "invalid_field",
            format!("must be at most {MAX_SITE_REF} characters"),
        );
        return;
    }
    let index = match by_ref.get(&site_ref) {
        Some(i) => *i,
        None => {
            let group = new_group(row, site_ref.clone());
            groups.push(group);
            let i = groups.len() - 1;
            by_ref.insert(site_ref.clone(), i);
            i
        }
    };
    let Some(group) = groups.get_mut(index) else {
        return;
    };
    group.rows += 1;
    if group.line != row.line {
        for (col, first) in SITE_COLUMNS.iter().zip(&group.cells) {
            let cell = row.text(*col);
            if !cell.is_empty() && cell != first {
                row.fault(
                    Some(col.name()),
                    "site_mismatch",
                    format!(
                        "differs from line {} of site_ref {site_ref:?} ({first:?}); leave it empty or repeat it exactly",
                        group.line
                    ),
                );
            }
        }
    }
    if group.rows == MAX_EVSES_PER_SITE + 1 {
        row.fault(
            Some(Col::SiteRef.name()),
            "too_many_evses",
            format!("a site has at most {MAX_EVSES_PER_SITE} EVSEs"),
        );
    }
    let Some(input) = row.evse_input() else {
        return;
    };
    let Some(currency) = group.currency else {
        return;
    };
    // The rules stop at the first fault; with two connectors, a probe with
    // the first alone tells which one a connector fault is in.
    let probe = (input.connectors.len() > 1).then(|| input.clone());
    let fields = match input.into_fields(currency, &[], state) {
        Ok(fields) => fields,
        Err(e) => {
            let slot = match probe {
                Some(mut probe) if is_connector_field(&e) => {
                    probe.connectors.truncate(1);
                    match probe.into_fields(currency, &[], state) {
                        Err(first) if is_connector_field(&first) => 0,
                        _ => 1,
                    }
                }
                _ => 0,
            };
            let column = evse_column(e.field.unwrap_or_default(), slot);
            row.rule(&column, &e);
            return;
        }
    };
    if let Some(first) = group
        .evses
        .iter()
        .find(|e| e.fields.evse_code == fields.evse_code)
    {
        row.fault(
            Some(Col::EvseCode.name()),
            "duplicate_evse_code",
            format!(
                "EVSE code {:?} is already on line {} for site_ref {site_ref:?}",
                fields.evse_code, first.line
            ),
        );
        return;
    }
    if let (Some(cp), Some(connector)) = (&fields.charge_point_id, fields.ocpp_connector_id) {
        let key = (cp.to_string(), connector);
        if let Some(first) = ports.get(&key) {
            row.fault(
                Some(Col::OcppConnectorId.name()),
                "duplicate_charge_point_connector",
                format!(
                    "connector {connector} of charge point {cp} is already linked on line {first}"
                ),
            );
            return;
        }
        ports.insert(key, row.line);
    }
    if row.faults == 0 {
        group.evses.push(PlannedEvse {
            line: row.line,
            fields,
        });
    }
}

/// Starts a site group from its first row.
fn new_group(row: &mut Row<'_>, site_ref: String) -> Group {
    let cells = SITE_COLUMNS
        .iter()
        .map(|c| row.text(*c).to_owned())
        .collect();
    let fields = row
        .site_input()
        .and_then(|input| match input.into_fields() {
            Ok(fields) => Some(fields),
            Err(e) => {
                let column = site_column(e.field.unwrap_or_default()).to_owned();
                row.rule(&column, &e);
                None
            }
        });
    let currency = fields
        .as_ref()
        .map(|f| f.currency)
        .or_else(|| Currency::parse(row.text(Col::Currency)).ok());
    Group {
        line: row.line,
        site_ref,
        fields,
        currency,
        cells,
        evses: Vec::new(),
        rows: 0,
    }
}

/// The host an operator names: an account id or a phone number. The account
/// must be a host. `field` names the input in errors.
pub async fn find_host(state: &App, text: &str, field: &'static str) -> AppResult<UserId> {
    let text = text.trim();
    let id = match text.parse::<UserId>() {
        Ok(id) => Some(id),
        Err(_) => match PhoneNumber::parse(text, state.settings.default_region) {
            Ok(phone) => state.store.find_phone(&phone).await?.map(|c| c.user_id),
            Err(_) => {
                return Err(AppError::invalid_field(
                    field,
                    "is neither an account id nor a phone number",
                ))
            }
        },
    };
    let user = match id {
        Some(id) => state.store.find_user(id).await?,
        None => None,
    };
    match user {
        Some(user) if user.role == Role::Host => Ok(user.id),
        Some(_) => Err(AppError::invalid_field(
            field,
            "this account is not a host (it needs a host profile first)",
        )),
        None => Err(AppError::invalid_field(field, "no host with this id")),
    }
}

/// Imports a file for `host` (an account with the host role): checks it
/// whole ([`validate`], on a blocking thread), checks the charge points it
/// links to belong to the host, then writes it (in a task of its own). See
/// the module documentation for the all-or-nothing rules.
pub async fn import<R, P>(
    state: &App,
    host: UserId,
    reader: R,
    progress: P,
) -> Result<ImportSummary, ImportError>
where
    R: Read + Send + 'static,
    P: Fn(Progress) + Send + Sync + 'static,
{
    let progress = Arc::new(progress);
    let plan = {
        let state = state.clone();
        let progress = progress.clone();
        tokio::task::spawn_blocking(move || validate(&state, reader, &*progress))
            .await
            .map_err(AppError::internal)?
            .map_err(ImportError::Invalid)?
    };
    let state = state.clone();
    tokio::spawn(async move { write_plan(&state, host, plan, &*progress).await })
        .await
        .map_err(AppError::internal)?
}

/// Checks charge point ownership, then writes; undoes the writes on failure.
async fn write_plan(
    state: &App,
    host: UserId,
    plan: Plan,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<ImportSummary, ImportError> {
    let mut report = Report::default();
    let mut owned: HashMap<String, Option<(&'static str, String)>> = HashMap::new();
    for evse in plan.sites.iter().flat_map(|s| &s.evses) {
        let Some(cp) = &evse.fields.charge_point_id else {
            continue;
        };
        let verdict = match owned.get(cp.as_str()) {
            Some(v) => v.clone(),
            None => {
                let v = match check_charge_point_link(state, host, &evse.fields).await {
                    Ok(()) => None,
                    Err(e) if e.field.is_some() => Some((e.code, e.message)),
                    Err(e) => return Err(ImportError::Failed(e)),
                };
                owned.insert(cp.to_string(), v.clone());
                v
            }
        };
        if let Some((code, message)) = verdict {
            let message = message
                .strip_prefix("charge_point_id: ")
                .unwrap_or(&message)
                .to_owned();
            report.push(evse.line, Some(Col::ChargePointId.name()), code, message);
        }
    }
    if !report.is_empty() {
        return Err(ImportError::Invalid(report));
    }
    // A connector that an EVSE outside the file already is: found before
    // writing, so the report names the row.
    let mut taken = Report::default();
    for evse in plan.sites.iter().flat_map(|s| &s.evses) {
        if let (Some(cp), Some(connector)) =
            (&evse.fields.charge_point_id, evse.fields.ocpp_connector_id)
        {
            if state
                .store
                .find_evse_by_port(cp, connector)
                .await
                .map_err(AppError::from)?
                .is_some()
            {
                taken.push(
                    evse.line,
                    Some(Col::ChargePointId.name()),
                    "charge_point_connector_taken",
                    "this OCPP connector is already an EVSE; nothing was imported",
                );
            }
        }
    }
    if !taken.is_empty() {
        return Err(ImportError::Conflict(taken));
    }
    let total = plan.evse_count() as u64;
    progress(Progress::Importing { done: 0, total });
    let first_line = plan.sites.first().map_or(1, |s| s.line);
    let mut batch = Vec::with_capacity(plan.sites.len());
    for planned in plan.sites {
        let now = state.clock.now();
        let site = Site::pending(SiteId(state.ids.new_uuid(now)), host, planned.fields, now);
        let evses = planned
            .evses
            .into_iter()
            .map(|e| Evse::pending(EvseId(state.ids.new_uuid(now)), site.id, e.fields, now))
            .collect();
        batch.push((site, evses));
    }
    // One transaction: the whole file is written or none of it, even if
    // the process dies halfway.
    if let Err(e) = state.store.insert_sites_bulk(&batch).await {
        // Only a race with another writer gets here (the file was checked
        // and its connectors were free a moment ago).
        return Err(write_failure(first_line, Col::ChargePointId, e));
    }
    progress(Progress::Importing { done: total, total });
    let created: Vec<SiteId> = batch.iter().map(|(site, _)| site.id).collect();
    tracing::info!(%host, sites = created.len(), evses = total, "sites imported from CSV");
    Ok(ImportSummary {
        sites: created.len(),
        evses: usize::try_from(total).unwrap_or(usize::MAX),
        site_ids: created,
    })
}

/// The error of a failed write on `line`.
fn write_failure(line: u64, column: Col, e: StoreError) -> ImportError {
    let mut report = Report::default();
    match e {
        StoreError::Conflict(plugway_store::Conflict::EvsePort) => report.push(
            line,
            Some(Col::ChargePointId.name()),
            "charge_point_connector_taken",
            "this OCPP connector is already an EVSE; nothing was imported",
        ),
        StoreError::Conflict(_) if column == Col::EvseCode => report.push(
            line,
            Some(Col::EvseCode.name()),
            "evse_code_taken",
            "the site already has an EVSE with this code; nothing was imported",
        ),
        StoreError::Conflict(what) => report.push(
            line,
            Some(column.name()),
            "conflict",
            format!("{what} is already taken; nothing was imported"),
        ),
        other => return ImportError::Failed(other.into()),
    }
    ImportError::Conflict(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(text: &str) -> Result<Header, Report> {
        let mut csv = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        Header::parse(csv.headers().unwrap())
    }

    const MINIMAL: &str = "site_ref,name,address,city,province,country_code,latitude,longitude,currency,evse_code,connector_standard,connector_format,connector_power_type,connector_max_voltage,connector_max_amperage,connector_max_power_kw";

    #[test]
    fn column_names_are_unique_and_documented_in_order() {
        let mut names: Vec<&str> = COLUMNS.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), COLUMNS.len());
        assert_eq!(Col::ALL.len(), COLUMNS.len());
        for (col, name) in Col::ALL.iter().zip(COLUMNS) {
            assert_eq!(col.name(), *name);
        }
    }

    #[test]
    fn header_names_are_case_insensitive_in_any_order() {
        let upper = MINIMAL.to_ascii_uppercase();
        let mut parts: Vec<&str> = upper.split(',').collect();
        parts.reverse();
        let h = header(&format!("{},,", parts.join(" , "))).unwrap();
        assert_eq!(h.position(Col::SiteRef), Some(parts.len() - 1));
        assert_eq!(h.position(Col::Region), None);
    }

    #[test]
    fn header_problems_are_all_reported() {
        let report = header("site_ref,Name,NAME,lattitude,connector2_standard").unwrap_err();
        let codes: Vec<(&str, Option<&str>)> = report
            .errors
            .iter()
            .map(|e| (e.code.as_str(), e.column.as_deref()))
            .collect();
        assert!(codes.contains(&("duplicate_column", Some("name"))));
        assert!(codes.contains(&("unknown_column", Some("lattitude"))));
        assert!(codes.contains(&("missing_column", Some("latitude"))));
        assert!(codes.contains(&("missing_column", Some("connector2_format"))));
        assert!(report.errors.iter().all(|e| e.row == 1));
        let empty = header("").unwrap_err();
        assert_eq!(empty.errors[0].code, "empty_file");
    }

    #[test]
    fn a_byte_order_mark_is_ignored() {
        assert!(header(&format!("\u{feff}{MINIMAL}")).is_ok());
    }

    #[test]
    fn lists_split_on_pipes_and_semicolons() {
        assert_eq!(
            split_list(" CAFE| wifi ;;BANKS/ATM "),
            vec!["CAFE", "wifi", "BANKS/ATM"]
        );
        assert!(split_list("").is_empty());
    }

    fn read_row(text: &str) -> (Option<SiteInput>, Option<EvseInput>, Report) {
        let mut csv = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let h = Header::parse(csv.headers().unwrap()).unwrap();
        let mut record = csv::StringRecord::new();
        assert!(csv.read_record(&mut record).unwrap());
        let mut report = Report::default();
        let mut row = Row {
            header: &h,
            record: &record,
            line: 2,
            report: &mut report,
            faults: 0,
        };
        let site = row.site_input();
        let evse = row.evse_input();
        (site, evse, report)
    }

    #[test]
    fn a_row_becomes_rest_inputs() {
        let text = format!(
            "{MINIMAL},facilities,price_per_kwh,connector2_standard,connector2_format,connector2_power_type,connector2_max_voltage,connector2_max_amperage,connector2_max_power_kw\n\
             A,Mall,1 Road,Makati,Metro Manila,PH,14.55,121.02,PHP,E1,TYPE_2,SOCKET,AC,230,32,7.4,CAFE|WIFI,12.5,CCS2,CABLE,DC,920,200,150\n"
        );
        let (site, evse, report) = read_row(&text);
        assert!(report.is_empty(), "{report:?}");
        let site = site.unwrap();
        assert_eq!(site.facilities, vec!["CAFE", "WIFI"]);
        assert!((site.latitude - 14.55).abs() < 1e-9);
        assert!(site.into_fields().is_ok());
        let evse = evse.unwrap();
        assert_eq!(evse.connectors.len(), 2);
        assert_eq!(evse.connectors[1].max_voltage, 920);
        assert!((evse.prices.per_kwh - 12.5).abs() < 1e-9);
        assert!(evse.prices.per_hour.abs() < 1e-9);
    }

    #[test]
    fn unreadable_cells_are_reported_by_column() {
        let text = format!(
            "{MINIMAL}\nA,,1 Road,Makati,MM,PH,north,121,PHP,E1,TYPE_2,SOCKET,AC,230,lots,7\n"
        );
        let (site, evse, report) = read_row(&text);
        assert!(site.is_none() && evse.is_none());
        let found: Vec<(&str, &str)> = report
            .errors
            .iter()
            .map(|e| (e.column.as_deref().unwrap(), e.code.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                ("name", "required"),
                ("latitude", "invalid_number"),
                ("connector_max_amperage", "invalid_number")
            ]
        );
        assert!(report.errors.iter().all(|e| e.row == 2));
    }

    #[test]
    fn api_fields_map_to_columns() {
        assert_eq!(site_column("lat"), "latitude");
        assert_eq!(site_column("city"), "city");
        assert_eq!(evse_column("prices.per_hour", 0), "price_per_hour");
        assert_eq!(evse_column("max_voltage", 0), "connector_max_voltage");
        assert_eq!(evse_column("format", 1), "connector2_format");
        assert_eq!(evse_column("evse_code", 1), "evse_code");
    }

    #[test]
    fn reports_keep_the_first_hundred_and_count_all() {
        let mut report = Report::default();
        for n in 0..150 {
            report.push(n, None, "x", "y");
        }
        assert_eq!(report.errors.len(), MAX_REPORTED_ERRORS);
        assert_eq!(report.error_count, 150);
        assert!(report.summary().contains("first 100"));
    }

    #[test]
    fn the_byte_cap_stops_reading() {
        let mut capped = Capped {
            inner: &[0u8; 10][..],
            read: 0,
            limit: 5,
        };
        let mut buf = [0u8; 16];
        let e = capped.read(&mut buf).unwrap_err();
        assert!(e.get_ref().unwrap().is::<TooLarge>());
    }
}
