//! Conformance cases for [`plugway_store::RoamingStore`]: parties and their
//! tokens, party codes held by one live party, partner tokens.

use plugway_domain::{OcpiPartyId, UserId};
use plugway_store::{
    Conflict, OcpiParty, OcpiReservation, PartyConnection, PartyRole, PartyState, Store,
    StoreError, StoredToken,
};

use super::{new_id, t0};

/// Calls `$m!(case, ...)` with every roaming case.
#[macro_export]
macro_rules! for_each_roaming_case {
    ($m:ident) => {
        $m!(
            parties_are_found_by_token_and_unregistered,
            a_party_code_belongs_to_one_live_party,
            partner_tokens_are_found_by_id_tag,
            pushes_reservations_and_authorizations_are_kept,
        );
    };
}

fn invited(token_hash: &str) -> OcpiParty {
    OcpiParty {
        id: OcpiPartyId(new_id()),
        name: "partner".into(),
        state: PartyState::Invited,
        incoming_token_hash: Some(token_hash.into()),
        outgoing_token: None,
        versions_url: None,
        endpoints_json: "[]".into(),
        roles: Vec::new(),
        created_at: t0(),
        updated_at: t0(),
    }
}

fn connection(token_hash: &str, code: &str, role: &str) -> PartyConnection {
    PartyConnection {
        incoming_token_hash: token_hash.into(),
        outgoing_token: format!("theirs-{token_hash}"),
        versions_url: "https://partner.example/ocpi/versions".into(),
        endpoints_json: "[]".into(),
        roles: vec![PartyRole {
            country_code: "NL".into(),
            party_code: code.into(),
            role: role.into(),
            name: "Partner BV".into(),
            host_id: (role == "CPO").then(|| UserId(new_id())),
        }],
    }
}

/// A party is found by its token's digest until it unregisters; the
/// handshake replaces the token.
pub async fn parties_are_found_by_token_and_unregistered(store: &dyn Store) {
    let a_hash = format!("a-{}", new_id());
    let party = invited(&a_hash);
    store.insert_ocpi_party(&party).await.unwrap();
    let found = store
        .find_ocpi_party_by_token(&a_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.id, found.state), (party.id, PartyState::Invited));
    let c_hash = format!("c-{}", new_id());
    let code = format!("C{}", &new_id().simple().to_string()[..2].to_uppercase());
    let connected = store
        .connect_ocpi_party(
            party.id,
            PartyState::Invited,
            &connection(&c_hash, &code, "CPO"),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(connected.state, PartyState::Connected);
    assert_eq!(connected.roles.len(), 1);
    let host = connected.roles[0]
        .host_id
        .expect("a CPO role gets a host account");
    assert!(store.find_user(host).await.unwrap().is_some());
    assert!(store.partner_hosts().await.unwrap().contains(&host));
    assert!(
        store
            .find_ocpi_party_by_token(&a_hash)
            .await
            .unwrap()
            .is_none(),
        "token A died"
    );
    assert_eq!(
        store
            .find_ocpi_party_by_token(&c_hash)
            .await
            .unwrap()
            .unwrap()
            .id,
        party.id
    );
    store.unregister_ocpi_party(party.id, t0()).await.unwrap();
    assert!(store
        .find_ocpi_party_by_token(&c_hash)
        .await
        .unwrap()
        .is_none());
    let gone = store.find_ocpi_party(party.id).await.unwrap().unwrap();
    assert_eq!(
        (gone.state, gone.outgoing_token),
        (PartyState::Unregistered, None)
    );
    assert!(matches!(
        store
            .unregister_ocpi_party(OcpiPartyId(new_id()), t0())
            .await,
        Err(StoreError::NotFound)
    ));
}

/// Two live parties never hold one code and role; an unregistered one's
/// code passes to the next, with its host account.
pub async fn a_party_code_belongs_to_one_live_party(store: &dyn Store) {
    let code = format!("D{}", &new_id().simple().to_string()[..2].to_uppercase());
    let first = invited(&format!("1-{}", new_id()));
    store.insert_ocpi_party(&first).await.unwrap();
    let first = store
        .connect_ocpi_party(
            first.id,
            PartyState::Invited,
            &connection(&format!("1c-{}", new_id()), &code, "CPO"),
            t0(),
        )
        .await
        .unwrap();
    let host = first.roles[0].host_id.unwrap();
    let second = invited(&format!("2-{}", new_id()));
    store.insert_ocpi_party(&second).await.unwrap();
    let taken = store
        .connect_ocpi_party(
            second.id,
            PartyState::Invited,
            &connection(&format!("2c-{}", new_id()), &code, "CPO"),
            t0(),
        )
        .await;
    assert!(
        matches!(taken, Err(StoreError::Conflict(Conflict::OcpiPartyCode))),
        "{taken:?}"
    );
    let unchanged = store.find_ocpi_party(second.id).await.unwrap().unwrap();
    assert_eq!(unchanged.state, PartyState::Invited, "nothing changed");
    let (holder, role) = store
        .find_party_role("NL", &code, "CPO")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((holder, role.host_id), (first.id, Some(host)));
    store.unregister_ocpi_party(first.id, t0()).await.unwrap();
    assert!(store
        .find_party_role("NL", &code, "CPO")
        .await
        .unwrap()
        .is_none());
    let second = store
        .connect_ocpi_party(
            second.id,
            PartyState::Invited,
            &connection(&format!("2d-{}", new_id()), &code, "CPO"),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(
        second.roles[0].host_id,
        Some(host),
        "the locations stay one set"
    );
}

/// A partner token is found by its key and by the id tag chargers see.
pub async fn partner_tokens_are_found_by_id_tag(store: &dyn Store) {
    let tag = format!("T{}", &new_id().simple().to_string()[..12].to_uppercase());
    let mut token = StoredToken {
        country_code: "NL".into(),
        party_code: "XWE".into(),
        uid: tag.clone(),
        token_type: "RFID".into(),
        id_tag: tag.clone(),
        object_json: "{}".into(),
        last_updated: t0(),
        authorization_reference: None,
        authorized_at: None,
    };
    store.put_ocpi_token(&token).await.unwrap();
    token.object_json = "{\"valid\":false}".into();
    store.put_ocpi_token(&token).await.unwrap();
    let found = store
        .find_ocpi_token("NL", "XWE", &tag, "RFID")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, token, "a second PUT replaces the first");
    assert_eq!(
        store.find_ocpi_token_by_id_tag(&tag).await.unwrap(),
        Some(token)
    );
    assert!(store
        .find_ocpi_token("NL", "XWE", &tag, "APP_USER")
        .await
        .unwrap()
        .is_none());
}

/// What a partner holds (push digests), its reservations, and the eMSP's
/// authorization of a token: each kept per party, replaced by the next.
pub async fn pushes_reservations_and_authorizations_are_kept(store: &dyn Store) {
    let hash = new_id().simple().to_string();
    let party = invited(&hash);
    store.insert_ocpi_party(&party).await.unwrap();
    let other = invited(&new_id().simple().to_string());
    store.insert_ocpi_party(&other).await.unwrap();

    // Digests: none until pushed; the latest one per object and party.
    let ids: Vec<String> = (0..150).map(|n| format!("site-{n}")).collect();
    assert!(store
        .ocpi_pushed_digests(party.id, "locations", &ids)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.last_ocpi_push(party.id, "locations").await.unwrap(),
        None
    );
    let later = t0() + chrono::Duration::minutes(5);
    store
        .record_ocpi_push(party.id, "locations", "site-3", "d1", None, t0())
        .await
        .unwrap();
    store
        .record_ocpi_push(
            party.id,
            "locations",
            "site-3",
            "d2",
            Some("{\"id\":\"3\"}"),
            later,
        )
        .await
        .unwrap();
    store
        .record_ocpi_push(party.id, "locations", "site-140", "d9", None, t0())
        .await
        .unwrap();
    store
        .record_ocpi_push(other.id, "locations", "site-4", "x", None, t0())
        .await
        .unwrap();
    let mut held = store
        .ocpi_pushed_digests(party.id, "locations", &ids)
        .await
        .unwrap();
    held.sort();
    assert_eq!(
        held,
        [
            ("site-140".to_owned(), "d9".to_owned()),
            ("site-3".to_owned(), "d2".to_owned())
        ],
        "the latest per object, past the first hundred ids, this party's only"
    );
    assert_eq!(
        store
            .ocpi_pushed_object(party.id, "locations", "site-3")
            .await
            .unwrap()
            .as_deref(),
        Some("{\"id\":\"3\"}"),
        "kept whole when given"
    );
    assert_eq!(
        store
            .ocpi_pushed_object(party.id, "locations", "site-140")
            .await
            .unwrap(),
        None
    );
    assert!(store
        .ocpi_pushed_digests(party.id, "tariffs", &ids)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.last_ocpi_push(party.id, "locations").await.unwrap(),
        Some(later)
    );

    // Reservations: by party and id; replaced; forgotten once.
    let reservation = OcpiReservation {
        party: party.id,
        reservation_id: "R-1".into(),
        charge_point_id: "CP-1".into(),
        ocpp_reservation_id: 77,
        expires_at: later,
    };
    store.put_ocpi_reservation(&reservation).await.unwrap();
    let moved = OcpiReservation {
        charge_point_id: "CP-2".into(),
        ocpp_reservation_id: 78,
        ..reservation.clone()
    };
    store.put_ocpi_reservation(&moved).await.unwrap();
    assert_eq!(
        store.find_ocpi_reservation(party.id, "R-1").await.unwrap(),
        Some(moved)
    );
    assert_eq!(
        store.find_ocpi_reservation(other.id, "R-1").await.unwrap(),
        None
    );
    assert!(!store
        .delete_ocpi_reservation(other.id, "R-1")
        .await
        .unwrap());
    assert!(store
        .delete_ocpi_reservation(party.id, "R-1")
        .await
        .unwrap());
    assert!(!store
        .delete_ocpi_reservation(party.id, "R-1")
        .await
        .unwrap());

    // A token's authorization survives a PUT of the token.
    let tag = format!("A{}", &new_id().simple().to_string()[..12].to_uppercase());
    let token = StoredToken {
        country_code: "NL".into(),
        party_code: "XWA".into(),
        uid: tag.clone(),
        token_type: "RFID".into(),
        id_tag: tag.clone(),
        object_json: "{}".into(),
        last_updated: t0(),
        authorization_reference: None,
        authorized_at: None,
    };
    store.put_ocpi_token(&token).await.unwrap();
    store
        .set_ocpi_token_authorization(&tag, Some("REF-1"), later)
        .await
        .unwrap();
    store.put_ocpi_token(&token).await.unwrap();
    let found = store
        .find_ocpi_token_by_id_tag(&tag)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            found.authorization_reference.as_deref(),
            found.authorized_at
        ),
        (Some("REF-1"), Some(later))
    );
}
