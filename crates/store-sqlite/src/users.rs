//! SQL for the user directory.

use rusqlite::{Connection, OptionalExtension, Row, params};
use switchboard_domain::StoreError;
use switchboard_domain::store::{ListQuery, Page, UserKey};
use switchboard_domain::users::{USER_SCHEMA, UserPatch, UserRecord};
use switchboard_odata::sql::SqlValue;

use crate::internal;
use crate::query::{self, Collection};

const COLUMNS: &str = "u.id, u.tenant_id, u.display_name, u.user_principal_name, u.mail, u.given_name, u.surname, \
    u.job_title, u.business_phones, u.mobile_phone, u.office_location, u.preferred_language, u.account_enabled, \
    u.mail_nickname, u.password_hash, u.force_change_password, u.created_ms";

fn row(r: &Row<'_>) -> rusqlite::Result<UserRecord> {
    let phones: String = r.get(8)?;
    Ok(UserRecord {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        display_name: r.get(2)?,
        user_principal_name: r.get(3)?,
        mail: r.get(4)?,
        given_name: r.get(5)?,
        surname: r.get(6)?,
        job_title: r.get(7)?,
        business_phones: serde_json::from_str(&phones).unwrap_or_default(),
        mobile_phone: r.get(9)?,
        office_location: r.get(10)?,
        preferred_language: r.get(11)?,
        account_enabled: r.get(12)?,
        mail_nickname: r.get(13)?,
        password_hash: r.get(14)?,
        force_change_password: r.get(15)?,
        created_ms: r.get(16)?,
    })
}

fn phones(u: &UserRecord) -> String {
    serde_json::to_string(&u.business_phones).unwrap_or_else(|_| "[]".into())
}

pub fn insert(c: &Connection, u: &UserRecord) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO users (id, tenant_id, display_name, user_principal_name, mail, given_name, surname, job_title,
            business_phones, mobile_phone, office_location, preferred_language, account_enabled, mail_nickname,
            password_hash, force_change_password, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    )
    .map_err(internal)?
    .execute(params![
        u.id,
        u.tenant_id,
        u.display_name,
        u.user_principal_name,
        u.mail,
        u.given_name,
        u.surname,
        u.job_title,
        phones(u),
        u.mobile_phone,
        u.office_location,
        u.preferred_language,
        u.account_enabled,
        u.mail_nickname,
        u.password_hash,
        u.force_change_password,
        u.created_ms
    ])
    .map_err(internal)?;
    Ok(())
}

pub fn get(
    c: &Connection,
    tenant_id: &str,
    key: &UserKey,
) -> Result<Option<UserRecord>, StoreError> {
    let (sql, value) = match key {
        UserKey::Id(id) => (
            format!("SELECT {COLUMNS} FROM users AS u WHERE u.tenant_id = ?1 AND u.id = ?2"),
            id,
        ),
        UserKey::Upn(upn) => (
            format!(
                "SELECT {COLUMNS} FROM users AS u WHERE u.tenant_id = ?1 AND u.user_principal_name = ?2 COLLATE NOCASE"
            ),
            upn,
        ),
    };
    c.prepare_cached(&sql)
        .map_err(internal)?
        .query_row(params![tenant_id, value], row)
        .optional()
        .map_err(internal)
}

pub fn list(
    c: &Connection,
    tenant_id: &str,
    q: &ListQuery<'_>,
) -> Result<Page<UserRecord>, StoreError> {
    let collection = Collection {
        schema: &USER_SCHEMA,
        from: "users AS u",
        alias: "u",
        columns: COLUMNS,
        base_where: "u.tenant_id = ?1",
        base_params: vec![SqlValue::Text(tenant_id.to_string())],
    };
    query::page(c, &collection, q, row)
}

pub fn update(
    c: &Connection,
    tenant_id: &str,
    id: &str,
    patch: &UserPatch,
) -> Result<Option<UserRecord>, StoreError> {
    let Some(mut user) = get(c, tenant_id, &UserKey::Id(id.to_string()))? else {
        return Ok(None);
    };
    patch.apply(&mut user);
    c.prepare_cached(
        "UPDATE users SET display_name = ?3, user_principal_name = ?4, mail = ?5, given_name = ?6, surname = ?7,
            job_title = ?8, business_phones = ?9, mobile_phone = ?10, office_location = ?11, preferred_language = ?12,
            account_enabled = ?13, mail_nickname = ?14, password_hash = ?15, force_change_password = ?16
         WHERE tenant_id = ?1 AND id = ?2",
    )
    .map_err(internal)?
    .execute(params![
        tenant_id,
        id,
        user.display_name,
        user.user_principal_name,
        user.mail,
        user.given_name,
        user.surname,
        user.job_title,
        phones(&user),
        user.mobile_phone,
        user.office_location,
        user.preferred_language,
        user.account_enabled,
        user.mail_nickname,
        user.password_hash,
        user.force_change_password
    ])
    .map_err(internal)?;
    Ok(Some(user))
}

pub fn delete(c: &Connection, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
    let n = c
        .prepare_cached("DELETE FROM users WHERE tenant_id = ?1 AND id = ?2")
        .map_err(internal)?
        .execute(params![tenant_id, id])
        .map_err(internal)?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;
    use switchboard_domain::store::ListQuery;
    use switchboard_odata::{Limits, parse_filter};

    use super::*;

    fn directory() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::migrations::run(&mut c).unwrap();
        crate::configure(&c, true).unwrap();
        c.execute_batch(
            "INSERT INTO tenants VALUES ('t', 'T', 't.example', 0), ('o', 'O', 'o.example', 0);
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 1999)
             INSERT INTO users (id, tenant_id, display_name, user_principal_name, mail_nickname,
                 account_enabled, force_change_password, created_ms)
             SELECT printf('u%04d', i), CASE WHEN i % 10 = 9 THEN 'o' ELSE 't' END,
                 CASE i % 3 WHEN 0 THEN printf('Bench User %04d', i)
                     WHEN 1 THEN printf('BENCH user %04d', i) ELSE printf('bench%%_%04d', i) END,
                 printf('u%04d@t.example', i), printf('u%04d', i), 1, 0, 0
             FROM n;",
        )
        .unwrap();
        c
    }

    fn names(c: &Connection, filter: &str) -> Vec<String> {
        let expr = parse_filter(filter, &Limits::default()).unwrap();
        let q = ListQuery {
            filter: Some(&expr),
            search: None,
            order: Vec::new(),
            after: None,
            limit: 5000,
            count: false,
        };
        list(c, "t", &q)
            .unwrap()
            .items
            .into_iter()
            .map(|u| u.display_name)
            .collect()
    }

    /// `startswith(displayName, …)` seeks the NOCASE index instead of reading the directory,
    /// and still matches in any ASCII case, only the tenant's users, and `%`/`_` literally.
    #[test]
    fn a_display_name_prefix_seeks_the_index_and_ignores_case() {
        let c = directory();
        let found = names(&c, "startswith(displayName, 'bench user 001')");
        assert_eq!(
            found,
            [
                "BENCH user 0010",
                "Bench User 0012",
                "BENCH user 0013",
                "Bench User 0015",
                "BENCH user 0016",
                "Bench User 0018",
            ]
        );
        assert_eq!(
            names(&c, "startswith(displayName, 'BENCH%_001')"),
            ["bench%_0011", "bench%_0014", "bench%_0017"]
        );
        assert!(names(&c, "startswith(displayName, 'bench_')").is_empty());
        assert_eq!(names(&c, "startswith(displayName, '')").len(), 1800);

        let expr = parse_filter("startswith(displayName, 'Bench')", &Limits::default()).unwrap();
        let mut params = vec![SqlValue::Text("t".into())];
        let condition = switchboard_odata::sql::compile_filter(
            &expr,
            &USER_SCHEMA,
            "u",
            &switchboard_odata::sql::Sqlite,
            &mut params,
        )
        .unwrap();
        let plan: Vec<String> = c
            .prepare(&format!(
                "EXPLAIN QUERY PLAN SELECT u.id FROM users AS u WHERE (u.tenant_id = ?1) AND {condition} ORDER BY u.id LIMIT 101"
            ))
            .unwrap()
            .query_map(
                rusqlite::params_from_iter(params.iter().map(crate::query::to_sqlite)),
                |r| r.get::<_, String>(3),
            )
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter().any(|p| p.contains("users_display_name_nocase")),
            "{plan:?}"
        );
    }
}
