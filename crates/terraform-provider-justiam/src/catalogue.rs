//! The permission catalogue, for plan-time validation. The provider cannot depend on the server's
//! core crate, so the list is kept here; the integration tests check that it equals what the server
//! reports for an administrator (`GET /api/v1/me`).

/// Every permission the server knows, in the server's order.
pub const PERMISSIONS: &[&str] = &[
    "users.view",
    "users.viewaccess",
    "users.create",
    "users.update",
    "users.delete",
    "users.sendpasswordreset",
    "users.managetags",
    "groups.view",
    "groups.create",
    "groups.update",
    "groups.delete",
    "groups.members",
    "groups.viewaccess",
    "groups.managetags",
    "apps.view",
    "apps.create",
    "apps.update",
    "apps.delete",
    "apps.managetags",
    "roles.view",
    "roles.create",
    "roles.update",
    "roles.delete",
    "admin_roles.manage",
    "service_accounts.tokens",
    "audit.view",
    "sessions.view",
    "sessions.revoke",
    "federated.manage",
    "resource_sets.view",
    "resource_sets.manage",
];

/// Whether `name` is a permission of the catalogue.
pub fn is_permission(name: &str) -> bool {
    PERMISSIONS.contains(&name)
}

/// Whether `pattern` (a name, or a wildcard such as `*.view`, `users.*` or `*`) matches the
/// permission `name`, as the server decides it: a `*` stands for one whole dot-separated part, or
/// for everything alone.
pub fn wildcard_matches(pattern: &str, name: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match (pattern.split_once('.'), name.split_once('.')) {
        (Some((pr, pa)), Some((nr, na))) => (pr == "*" || pr == nr) && (pa == "*" || pa == na),
        _ => false,
    }
}

/// Whether a token permission entry is valid: a catalogue name, or a wildcard that matches at
/// least one catalogue name.
pub fn pattern_matches_catalogue(pattern: &str) -> bool {
    if pattern.contains('*') {
        PERMISSIONS.iter().any(|p| wildcard_matches(pattern, p))
    } else {
        is_permission(pattern)
    }
}

/// A short, readable list of the catalogue for diagnostics.
pub(crate) fn catalogue_list() -> String {
    PERMISSIONS.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for p in PERMISSIONS {
            assert!(seen.insert(*p), "duplicate {p}");
            assert!(p.split_once('.').is_some(), "{p} has no area");
        }
        assert_eq!(PERMISSIONS.len(), 31);
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_matches("*", "audit.view"));
        assert!(wildcard_matches("users.*", "users.delete"));
        assert!(wildcard_matches("*.view", "groups.view"));
        assert!(!wildcard_matches("users.*", "groups.view"));
        assert!(!wildcard_matches("users", "users.view"));
        assert!(pattern_matches_catalogue("*.view"));
        assert!(pattern_matches_catalogue("users.view"));
        assert!(!pattern_matches_catalogue("nope.*"));
        assert!(!pattern_matches_catalogue("users.fly"));
    }
}
