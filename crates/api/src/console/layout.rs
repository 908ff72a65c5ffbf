//! The page shell every console page shares: head, navigation, sign-out.

use maud::{html, Markup, DOCTYPE};

use super::Person;

/// The sections of the navigation: (path, label, admins only).
const SECTIONS: &[(&str, &str, bool)] = &[
    ("/console/chargers", "Chargers", false),
    ("/console/sessions", "Sessions", false),
    ("/console/approvals", "Approvals", true),
    ("/console/people", "Drivers & hosts", true),
    ("/console/money", "Money", false),
    ("/console/roaming", "Roaming & keys", true),
];

/// A whole page: `section` is the navigation entry it belongs to.
pub fn page(person: Option<&Person>, title: &str, section: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Plugway console" }
                link rel="stylesheet" href="/console/assets/console.css";
                script src="/console/assets/htmx.min.js" defer {}
                script src="/console/assets/console.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/console" { "Plugway" }
                    @if let Some(person) = person {
                        nav aria-label="Sections" {
                            ul {
                                @for (path, label, admin_only) in SECTIONS {
                                    @if !admin_only || person.is_admin() {
                                        li {
                                            @if *path == section {
                                                a href=(path) aria-current="page" { (label) }
                                            } @else {
                                                a href=(path) { (label) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        form.signout method="post" action="/console/sign-out" {
                            input type="hidden" name="csrf" value=(person.csrf);
                            span.who { (person.label()) " (" (person.user.role.as_str()) ")" }
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main { (body) }
            }
        }
    }
}

/// The hidden CSRF field of a form.
pub fn csrf_field(person: &Person) -> Markup {
    html! { input type="hidden" name="csrf" value=(person.csrf); }
}

/// A status as a badge people can read without colour (the word is there).
pub fn badge(text: &str, good: bool) -> Markup {
    html! { span class={ "badge " (if good { "ok" } else { "bad" }) } { (text) } }
}

/// A charger's connection state as a badge.
pub fn online_badge(online: bool) -> Markup {
    badge(if online { "online" } else { "offline" }, online)
}

/// Previous and next links of a list paged at `path?page=N`.
pub fn pager(path: &str, number: i64, pages: i64) -> Markup {
    html! {
        @if pages > 1 {
            nav.pager aria-label="Pages" {
                @if number > 1 { a href={ (path) "?page=" (number - 1) } { "← Previous" } }
                " "
                @if number < pages { a href={ (path) "?page=" (number + 1) } { "Next →" } }
            }
        }
    }
}
