//! Conformance cases for [`plugway_store::RoamingStore`]: parties and their
//! tokens, party codes held by one live party, partner tokens.

use plugway_domain::{OcpiPartyId, UserId};
use plugway_store::{
    Conflict, OcpiParty, PartyConnection, PartyRole, PartyState, Store, StoreError, StoredToken,
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
