//! The SQL of the [`PeopleStore`](super::people::PeopleStore), written once for both backends
//! with the same hooks as `sql.rs` (`begin_write`, `commit`, `FOR_UPDATE`).

/// Implements [`PeopleStore`](super::people::PeopleStore) for `$store` over `$db`, and the
/// audit writer `write_audit` the other SQL macros call inside their transactions.
macro_rules! people_sql_store {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Writes one audit entry inside `tx`.
            pub(crate) async fn write_audit(
                tx: &mut sqlx::Transaction<'static, $db>,
                project_id: i64,
                actor: &$crate::store::people::Actor,
                record: &$crate::store::people::AuditRecord,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "INSERT INTO audit_log (project_id, at_ms, actor, action, target, changes) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(project_id)
                .bind($crate::store::millis(now))
                .bind(actor.label())
                .bind(&record.action)
                .bind(&record.target)
                .bind(serde_json::Value::Object(record.changes.clone()).to_string())
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            /// A custom role's grants inside `tx` (or the pool).
            async fn custom_grants<'e, E>(
                executor: E,
                project_id: i64,
                name: &str,
            ) -> Result<Option<offers_core::access::Grants>, $crate::store::StoreError>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                let json: Option<String> = sqlx::query_scalar(
                    "SELECT grants FROM roles WHERE project_id = $1 AND name = $2",
                )
                .bind(project_id)
                .bind(name)
                .fetch_optional(executor)
                .await?;
                json.map(|j| $crate::store::grants_from_json(name, &j))
                    .transpose()
            }

            /// A member as `GET /external/people` lists them, inside `tx`.
            async fn person_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                project_id: i64,
                user_id: i64,
            ) -> Result<Option<offers_core::api::Person>, $crate::store::StoreError> {
                let row = sqlx::query(&format!(
                    "{} WHERE m.project_id = $1 AND m.user_id = $2",
                    $crate::store::PERSON_SELECT
                ))
                .bind(project_id)
                .bind(user_id)
                .fetch_optional(&mut **tx)
                .await?;
                row.as_ref().map($crate::store::person_from_row).transpose()
            }

            /// The project's named tokens (only row `id`, if given), newest first.
            async fn token_rows(
                &self,
                project_id: i64,
                id: Option<i64>,
            ) -> Result<Vec<$crate::store::people::TokenRow>, $crate::store::StoreError> {
                let rows = sqlx::query(&format!(
                    "SELECT {} FROM api_tokens WHERE project_id = $1 AND ($2 IS NULL OR id = $2) \
                     ORDER BY id DESC",
                    $crate::store::TOKEN_COLUMNS
                ))
                .bind(project_id)
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map($crate::store::token_from_row).collect()
            }

            async fn memberships_where(
                &self,
                condition: &str,
                user_id: i64,
                project_id: Option<i64>,
            ) -> Result<Vec<$crate::store::people::MembershipRow>, $crate::store::StoreError>
            {
                use sqlx::Row as _;
                let columns = $crate::store::PROJECT_COLUMNS
                    .split(", ")
                    .map(|c| format!("p.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let sql = format!(
                    "SELECT {columns}, m.role AS member_role, m.is_owner FROM memberships m \
                     JOIN projects p ON p.id = m.project_id \
                     WHERE m.user_id = $1 AND m.status = 'active' {condition} ORDER BY p.id"
                );
                let mut query = sqlx::query(&sql).bind(user_id);
                if let Some(project_id) = project_id {
                    query = query.bind(project_id);
                }
                let rows = query.fetch_all(&self.pool).await?;
                let mut out = Vec::with_capacity(rows.len());
                for row in &rows {
                    let project = $crate::store::project_from_row(row)?;
                    let role: String = row.try_get("member_role")?;
                    let custom = if offers_core::access::BuiltInRole::parse(&role).is_some() {
                        None
                    } else {
                        Self::custom_grants(&self.pool, project.id, &role).await?
                    };
                    // A role deleted under a member (refused while in use) grants nothing.
                    let grants = $crate::store::people::builtin_or(&role, custom)
                        .unwrap_or(offers_core::access::Grants::NONE);
                    out.push($crate::store::people::MembershipRow {
                        project,
                        owner: row.try_get("is_owner")?,
                        role,
                        grants,
                    });
                }
                Ok(out)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::people::PeopleStore for $store {
            async fn record_audit(
                &self,
                project_id: i64,
                actor: &$crate::store::people::Actor,
                record: &$crate::store::people::AuditRecord,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                Self::write_audit(&mut tx, project_id, actor, record, now).await?;
                self.commit(tx, None).await
            }

            async fn list_audit(
                &self,
                project_id: i64,
                filter: &$crate::store::people::AuditFilter,
                limit: i64,
                offset: i64,
            ) -> Result<Vec<offers_core::api::AuditEntry>, $crate::store::StoreError> {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT at_ms, actor, action, target, changes FROM audit_log \
                     WHERE project_id = $1 AND ($2 IS NULL OR action = $2) \
                     AND ($3 IS NULL OR actor = $3) AND ($4 IS NULL OR target = $4) \
                     ORDER BY id DESC LIMIT $5 OFFSET $6",
                )
                .bind(project_id)
                .bind(filter.action.as_deref())
                .bind(filter.actor.as_deref())
                .bind(filter.target.as_deref())
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        let changes: String = row.try_get("changes")?;
                        Ok(offers_core::api::AuditEntry {
                            at: $crate::store::from_millis(row.try_get("at_ms")?)?,
                            actor: row.try_get("actor")?,
                            action: row.try_get("action")?,
                            target: row.try_get("target")?,
                            changes: serde_json::from_str(&changes).map_err(|e| {
                                $crate::store::StoreError::Corrupt(format!("audit changes: {e}"))
                            })?,
                        })
                    })
                    .collect()
            }

            async fn update_project_settings_as(
                &self,
                actor: &$crate::store::people::Actor,
                id: i64,
                settings: &$crate::store::ProjectSettings,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<$crate::store::Project>, $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                let project = Self::write_project_settings(&mut tx, actor, id, settings, now).await?;
                let change = project.as_ref().map(|_| $crate::bus::Change::project(id));
                self.commit(tx, change).await?;
                Ok(project)
            }

            async fn role_grants(
                &self,
                project_id: i64,
                name: &str,
            ) -> Result<Option<offers_core::access::Grants>, $crate::store::StoreError> {
                if let Some(builtin) = offers_core::access::BuiltInRole::parse(name) {
                    return Ok(Some(builtin.grants()));
                }
                Self::custom_grants(&self.pool, project_id, name).await
            }

            async fn custom_roles(
                &self,
                project_id: i64,
            ) -> Result<Vec<(String, offers_core::access::Grants)>, $crate::store::StoreError>
            {
                let rows: Vec<(String, String)> = sqlx::query_as(
                    "SELECT name, grants FROM roles WHERE project_id = $1 ORDER BY name",
                )
                .bind(project_id)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|(name, json)| {
                        let grants = $crate::store::grants_from_json(&name, &json)?;
                        Ok((name, grants))
                    })
                    .collect()
            }

            async fn create_role(
                &self,
                actor: &$crate::store::people::Actor,
                project_id: i64,
                name: &str,
                grants: &offers_core::access::Grants,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, $crate::store::StoreError> {
                use $crate::store::people::{AuditRecord, diff};
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "INSERT INTO roles (project_id, name, grants, created_ms) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(project_id)
                .bind(name)
                .bind($crate::store::grants_to_json(grants))
                .bind($crate::store::millis(now))
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                let changes = diff(
                    &serde_json::Value::Null,
                    &serde_json::json!({ "grants": grants }),
                );
                let record = AuditRecord::new("role.created", format!("role:{name}"), changes);
                Self::write_audit(&mut tx, project_id, actor, &record, now).await?;
                self.commit(tx, None).await?;
                Ok(true)
            }

            async fn update_role(
                &self,
                actor: &$crate::store::people::Actor,
                project_id: i64,
                name: &str,
                grants: &offers_core::access::Grants,
                within: &offers_core::access::Grants,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::store::people::RoleUpdate, $crate::store::StoreError> {
                use $crate::store::people::{AuditRecord, RoleUpdate, diff};
                let mut tx = self.begin_write().await?;
                let Some(before) = Self::custom_grants(&mut *tx, project_id, name).await? else {
                    tx.rollback().await?;
                    return Ok(RoleUpdate::NotFound);
                };
                if !within.covers(&before) || !within.covers(grants) {
                    tx.rollback().await?;
                    return Ok(RoleUpdate::Exceeds);
                }
                sqlx::query("UPDATE roles SET grants = $3 WHERE project_id = $1 AND name = $2")
                    .bind(project_id)
                    .bind(name)
                    .bind($crate::store::grants_to_json(grants))
                    .execute(&mut *tx)
                    .await?;
                let changes = diff(
                    &serde_json::to_value(before).unwrap_or_default(),
                    &serde_json::to_value(grants).unwrap_or_default(),
                );
                let record = AuditRecord::new("role.updated", format!("role:{name}"), changes);
                Self::write_audit(&mut tx, project_id, actor, &record, now).await?;
                self.commit(tx, None).await?;
                Ok(RoleUpdate::Done)
            }

            async fn delete_role(
                &self,
                actor: &$crate::store::people::Actor,
                project_id: i64,
                name: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::store::people::RoleDelete, $crate::store::StoreError> {
                use $crate::store::people::{AuditRecord, RoleDelete, diff};
                let mut tx = self.begin_write().await?;
                let Some(before) = Self::custom_grants(&mut *tx, project_id, name).await? else {
                    tx.rollback().await?;
                    return Ok(RoleDelete::NotFound);
                };
                let holders: i64 = sqlx::query_scalar(
                    "SELECT (SELECT COUNT(*) FROM memberships WHERE project_id = $1 AND role = $2) \
                     + (SELECT COUNT(*) FROM api_tokens WHERE project_id = $1 AND role = $2 \
                        AND revoked_ms IS NULL) \
                     + (SELECT COUNT(*) FROM invitations WHERE project_id = $1 AND role = $2 \
                        AND accepted_ms IS NULL AND expires_ms > $3)",
                )
                .bind(project_id)
                .bind(name)
                .bind($crate::store::millis(now))
                .fetch_one(&mut *tx)
                .await?;
                if holders > 0 {
                    tx.rollback().await?;
                    return Ok(RoleDelete::InUse(holders));
                }
                sqlx::query("DELETE FROM roles WHERE project_id = $1 AND name = $2")
                    .bind(project_id)
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
                let changes = diff(
                    &serde_json::json!({ "grants": before }),
                    &serde_json::Value::Null,
                );
                let record = AuditRecord::new("role.deleted", format!("role:{name}"), changes);
                Self::write_audit(&mut tx, project_id, actor, &record, now).await?;
                self.commit(tx, None).await?;
                Ok(RoleDelete::Deleted)
            }

            async fn create_token(
                &self,
                actor: &$crate::store::people::Actor,
                project_id: i64,
                token: &$crate::store::people::NewToken,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<$crate::store::people::TokenRow>, $crate::store::StoreError> {
                use $crate::store::people::{AuditRecord, diff};
                use $crate::store::{TOKEN_COLUMNS, millis, token_from_row};
                let mut tx = self.begin_write().await?;
                let row = sqlx::query(&format!(
                    "INSERT INTO api_tokens (project_id, name, role, jti, created_ms, expires_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING \
                     RETURNING {TOKEN_COLUMNS}"
                ))
                .bind(project_id)
                .bind(&token.name)
                .bind(&token.role)
                .bind(&token.jti)
                .bind(millis(now))
                .bind(token.expires_at.map(millis))
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else {
                    tx.rollback().await?;
                    return Ok(None);
                };
                let created = token_from_row(&row)?;
                let changes = diff(
                    &serde_json::Value::Null,
                    &serde_json::json!({
                        "role": created.role,
                        "expiresAt": created.expires_at.as_ref().map(offers_core::format_timestamp),
                    }),
                );
                let record =
                    AuditRecord::new("token.issued", format!("token:{}", created.name), changes);
                Self::write_audit(&mut tx, project_id, actor, &record, now).await?;
                self.commit(tx, None).await?;
                Ok(Some(created))
            }

            async fn token_by_id(
                &self,
                project_id: i64,
                id: i64,
            ) -> Result<Option<$crate::store::people::TokenRow>, $crate::store::StoreError> {
                Ok(self.token_rows(project_id, Some(id)).await?.pop())
            }

            async fn list_tokens(
                &self,
                project_id: i64,
            ) -> Result<Vec<$crate::store::people::TokenRow>, $crate::store::StoreError> {
                self.token_rows(project_id, None).await
            }

            async fn revoke_token(
                &self,
                actor: &$crate::store::people::Actor,
                project_id: i64,
                name: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<$crate::store::people::TokenRow>, $crate::store::StoreError> {
                use $crate::store::people::{AuditRecord, diff};
                use $crate::store::{TOKEN_COLUMNS, millis, token_from_row};
                let mut tx = self.begin_write().await?;
                let row = sqlx::query(&format!(
                    "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE project_id = $1 AND name = $2{}",
                    Self::FOR_UPDATE
                ))
                .bind(project_id)
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row.as_ref().map(token_from_row).transpose()? else {
                    tx.rollback().await?;
                    return Ok(None);
                };
                if row.revoked_at.is_some() {
                    tx.rollback().await?;
                    return Ok(Some(row));
                }
                let updated = sqlx::query(&format!(
                    "UPDATE api_tokens SET revoked_ms = $2 WHERE id = $1 RETURNING {TOKEN_COLUMNS}"
                ))
                .bind(row.id)
                .bind(millis(now))
                .fetch_one(&mut *tx)
                .await?;
                let updated = token_from_row(&updated)?;
                let changes = diff(
                    &serde_json::json!({ "revokedAt": null }),
                    &serde_json::json!({
                        "revokedAt": updated.revoked_at.as_ref().map(offers_core::format_timestamp)
                    }),
                );
                let record = AuditRecord::new("token.revoked", format!("token:{name}"), changes);
                Self::write_audit(&mut tx, project_id, actor, &record, now).await?;
                self.commit(tx, None).await?;
                Ok(Some(updated))
            }

            async fn touch_token(
                &self,
                id: i64,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::store::StoreError> {
                let now = $crate::store::millis(now);
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "UPDATE api_tokens SET last_used_ms = $2 WHERE id = $1 \
                     AND (last_used_ms IS NULL OR last_used_ms < $3)",
                )
                .bind(id)
                .bind(now)
                .bind(now - $crate::store::TOUCH_EVERY_MS)
                .execute(&mut *tx)
                .await?;
                self.commit(tx, None).await
            }

            async fn rotate_token_secret(
                &self,
                actor: &$crate::store::people::Actor,
                project_id: i64,
                new_secret: &str,
                old_valid_until: chrono::DateTime<chrono::Utc>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<$crate::store::Project>, $crate::store::StoreError> {
                use $crate::store::people::AuditRecord;
                use $crate::store::{PROJECT_COLUMNS, millis, project_from_row};
                let mut tx = self.begin_write().await?;
                let old: Option<String> = sqlx::query_scalar(&format!(
                    "SELECT secret FROM projects WHERE id = $1{}",
                    Self::FOR_UPDATE
                ))
                .bind(project_id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(old) = old else {
                    tx.rollback().await?;
                    return Ok(None);
                };
                sqlx::query(
                    "INSERT INTO token_secret_history (project_id, secret, retired_ms, \
                     valid_until_ms) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(project_id)
                .bind(&old)
                .bind(millis(now))
                .bind(millis(old_valid_until))
                .execute(&mut *tx)
                .await?;
                let row = sqlx::query(&format!(
                    "UPDATE projects SET secret = $2 WHERE id = $1 RETURNING {PROJECT_COLUMNS}"
                ))
                .bind(project_id)
                .bind(new_secret)
                .fetch_one(&mut *tx)
                .await?;
                let project = project_from_row(&row)?;
                let mut changes = serde_json::Map::new();
                changes.insert(
                    "oldSecretValidUntil".to_owned(),
                    serde_json::json!({
                        "before": null,
                        "after": offers_core::format_timestamp(&old_valid_until),
                    }),
                );
                let record = AuditRecord::new(
                    "token.secret_rotated",
                    format!("project:{project_id}"),
                    changes,
                );
                Self::write_audit(&mut tx, project_id, actor, &record, now).await?;
                self.commit(tx, None).await?;
                Ok(Some(project))
            }

            async fn retired_secrets(
                &self,
                project_id: i64,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<$crate::auth::RetiredSecret>, $crate::store::StoreError> {
                let rows: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT secret, valid_until_ms FROM token_secret_history \
                     WHERE project_id = $1 AND valid_until_ms > $2",
                )
                .bind(project_id)
                .bind($crate::store::millis(now))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|(secret, until)| {
                        Ok($crate::auth::RetiredSecret {
                            secret,
                            valid_until: $crate::store::from_millis(until)?,
                        })
                    })
                    .collect()
            }

            async fn user_by_email(
                &self,
                email: &str,
            ) -> Result<Option<$crate::store::people::UserRow>, $crate::store::StoreError> {
                let row = sqlx::query(&format!(
                    "SELECT {} FROM users WHERE email = $1",
                    $crate::store::USER_COLUMNS
                ))
                .bind(email)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map($crate::store::user_from_row).transpose()
            }

            async fn has_owner(&self, project_id: i64) -> Result<bool, $crate::store::StoreError> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM memberships WHERE project_id = $1 AND is_owner = $2",
                )
                .bind(project_id)
                .bind(true)
                .fetch_one(&self.pool)
                .await?;
                Ok(n > 0)
            }

            async fn create_invitation(
                &self,
                actor: &$crate::store::people::Actor,
                project_id: i64,
                invitation: &$crate::store::people::NewInvitation,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::store::millis;
                use $crate::store::people::{AuditRecord, diff};
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO invitations (project_id, email, name, role, token_hash, \
                     invited_by, created_ms, expires_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(project_id)
                .bind(&invitation.email)
                .bind(invitation.name.as_deref())
                .bind(&invitation.role)
                .bind(&invitation.token_hash)
                .bind(actor.label())
                .bind(millis(now))
                .bind(millis(invitation.expires_at))
                .execute(&mut *tx)
                .await?;
                let changes = diff(
                    &serde_json::Value::Null,
                    &serde_json::json!({
                        "role": invitation.role,
                        "expiresAt": offers_core::format_timestamp(&invitation.expires_at),
                    }),
                );
                let record = AuditRecord::new(
                    "person.invited",
                    format!("person:{}", invitation.email),
                    changes,
                );
                Self::write_audit(&mut tx, project_id, actor, &record, now).await?;
                self.commit(tx, None).await
            }

            async fn pending_invitations(
                &self,
                project_id: i64,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<offers_core::api::PendingInvitation>, $crate::store::StoreError> {
                let rows: Vec<(String, String, i64, String)> = sqlx::query_as(
                    "SELECT email, role, expires_ms, invited_by FROM invitations \
                     WHERE project_id = $1 AND accepted_ms IS NULL AND expires_ms > $2 \
                     ORDER BY id DESC",
                )
                .bind(project_id)
                .bind($crate::store::millis(now))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|(email, role, expires, invited_by)| {
                        Ok(offers_core::api::PendingInvitation {
                            email,
                            role,
                            expires_at: $crate::store::from_millis(expires)?,
                            invited_by,
                        })
                    })
                    .collect()
            }

            async fn invitation_by_token(
                &self,
                token_hash: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<$crate::store::people::InvitationRow>, $crate::store::StoreError>
            {
                let row: Option<(i64, i64, String, Option<String>, String, i64)> =
                    sqlx::query_as(
                        "SELECT id, project_id, email, name, role, expires_ms FROM invitations \
                         WHERE token_hash = $1 AND accepted_ms IS NULL AND expires_ms > $2",
                    )
                    .bind(token_hash)
                    .bind($crate::store::millis(now))
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|(id, project_id, email, name, role, expires)| {
                    Ok($crate::store::people::InvitationRow {
                        id,
                        project_id,
                        email,
                        name,
                        role,
                        expires_at: $crate::store::from_millis(expires)?,
                    })
                })
                .transpose()
            }

            async fn accept_invitation(
                &self,
                invitation: &$crate::store::people::InvitationRow,
                acceptor: &$crate::store::people::Acceptor,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::store::people::Accepted, $crate::store::StoreError> {
                use $crate::store::millis;
                use $crate::store::people::{Accepted, Acceptor, Actor, AuditRecord, diff};
                let mut tx = self.begin_write().await?;
                // One acceptance per project at a time (PostgreSQL): the owner check and the
                // membership insert below do not race.
                sqlx::query(&format!(
                    "SELECT id FROM projects WHERE id = $1{}",
                    Self::FOR_UPDATE
                ))
                .bind(invitation.project_id)
                .fetch_optional(&mut *tx)
                .await?;
                let used = sqlx::query(
                    "UPDATE invitations SET accepted_ms = $2 WHERE id = $1 \
                     AND accepted_ms IS NULL AND expires_ms > $2",
                )
                .bind(invitation.id)
                .bind(millis(now))
                .execute(&mut *tx)
                .await?;
                if used.rows_affected() == 0 {
                    tx.rollback().await?;
                    return Ok(Accepted::Gone);
                }
                let user_id: i64 = match acceptor {
                    Acceptor::Existing { user_id } => *user_id,
                    Acceptor::New {
                        name,
                        password_hash,
                    } => {
                        let inserted: Result<i64, sqlx::Error> = sqlx::query_scalar(
                            "INSERT INTO users (email, name, password_hash, created_ms) \
                             VALUES ($1, $2, $3, $4) RETURNING id",
                        )
                        .bind(&invitation.email)
                        .bind(name)
                        .bind(password_hash)
                        .bind(millis(now))
                        .fetch_one(&mut *tx)
                        .await;
                        match inserted {
                            Ok(id) => id,
                            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                                // The account was created meanwhile (another acceptance).
                                tx.rollback().await?;
                                return Ok(Accepted::EmailTaken);
                            }
                            Err(e) => return Err(e.into()),
                        }
                    }
                };
                let owners: Vec<i64> = sqlx::query_scalar(&format!(
                    "SELECT user_id FROM memberships WHERE project_id = $1 AND is_owner = $2{}",
                    Self::FOR_UPDATE
                ))
                .bind(invitation.project_id)
                .bind(true)
                .fetch_all(&mut *tx)
                .await?;
                let wants_owner =
                    invitation.role == offers_core::access::BuiltInRole::Owner.as_str();
                let owner = wants_owner && owners.is_empty();
                let role = if wants_owner && !owner {
                    offers_core::access::BuiltInRole::Editor.as_str()
                } else {
                    invitation.role.as_str()
                };
                // A member already in the project keeps their membership as it is: an old
                // link never restores a role given before a later change, nor re-activates a
                // disabled member (refused).
                let existing: Option<String> = sqlx::query_scalar(&format!(
                    "SELECT status FROM memberships WHERE project_id = $1 AND user_id = $2{}",
                    Self::FOR_UPDATE
                ))
                .bind(invitation.project_id)
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
                match existing.as_deref() {
                    None => {}
                    Some("active") => {
                        self.commit(tx, None).await?;
                        return Ok(Accepted::Joined(user_id));
                    }
                    Some(_) => {
                        tx.rollback().await?;
                        return Ok(Accepted::Disabled);
                    }
                }
                sqlx::query(
                    "INSERT INTO memberships (project_id, user_id, role, is_owner, created_ms) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(invitation.project_id)
                .bind(user_id)
                .bind(role)
                .bind(owner)
                .bind(millis(now))
                .execute(&mut *tx)
                .await?;
                let changes = diff(
                    &serde_json::Value::Null,
                    &serde_json::json!({ "role": role, "owner": owner }),
                );
                let record = AuditRecord::new(
                    "person.joined",
                    format!("person:{}", invitation.email),
                    changes,
                );
                let actor = Actor::User {
                    id: user_id,
                    email: invitation.email.clone(),
                };
                Self::write_audit(&mut tx, invitation.project_id, &actor, &record, now).await?;
                self.commit(tx, None).await?;
                Ok(Accepted::Joined(user_id))
            }

            async fn list_people(
                &self,
                project_id: i64,
            ) -> Result<Vec<offers_core::api::Person>, $crate::store::StoreError> {
                let rows = sqlx::query(&format!(
                    "{} WHERE m.project_id = $1 ORDER BY u.email",
                    $crate::store::PERSON_SELECT
                ))
                .bind(project_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map($crate::store::person_from_row).collect()
            }

            async fn update_person(
                &self,
                actor: &$crate::store::people::Actor,
                project_id: i64,
                user_id: i64,
                update: &$crate::store::people::PersonUpdate,
                within: &offers_core::access::Grants,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::store::people::PersonChange, $crate::store::StoreError> {
                use $crate::store::people::{AuditRecord, PersonChange, diff};
                let mut tx = self.begin_write().await?;
                sqlx::query(&format!(
                    "SELECT role FROM memberships WHERE project_id = $1 AND user_id = $2{}",
                    Self::FOR_UPDATE
                ))
                .bind(project_id)
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(before) = Self::person_in(&mut tx, project_id, user_id).await? else {
                    tx.rollback().await?;
                    return Ok(PersonChange::NotFound);
                };
                let demotes = update.role.as_ref().is_some_and(|r| *r != before.role);
                let disables =
                    update.status == Some(offers_core::api::UserStatus::Disabled);
                if before.owner && (demotes || disables) {
                    tx.rollback().await?;
                    return Ok(PersonChange::OwnerConflict);
                }
                if update.role.is_some() || update.status.is_some() {
                    let current = match offers_core::access::BuiltInRole::parse(&before.role) {
                        Some(builtin) => Some(builtin.grants()),
                        None => Self::custom_grants(&mut *tx, project_id, &before.role).await?,
                    };
                    if !current.is_some_and(|g| within.covers(&g)) {
                        tx.rollback().await?;
                        return Ok(PersonChange::Exceeds);
                    }
                }
                if let Some(name) = &update.name {
                    sqlx::query("UPDATE users SET name = $2 WHERE id = $1")
                        .bind(user_id)
                        .bind(name)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(
                    "UPDATE memberships SET role = COALESCE($3, role), \
                     status = COALESCE($4, status) WHERE project_id = $1 AND user_id = $2",
                )
                .bind(project_id)
                .bind(user_id)
                .bind(update.role.as_deref())
                .bind(update.status.map(|s| s.as_str()))
                .execute(&mut *tx)
                .await?;
                let Some(after) = Self::person_in(&mut tx, project_id, user_id).await? else {
                    tx.rollback().await?;
                    return Ok(PersonChange::NotFound);
                };
                let fields = |p: &offers_core::api::Person| {
                    serde_json::json!({"name": p.name, "role": p.role, "status": p.status})
                };
                let changes = diff(&fields(&before), &fields(&after));
                if after.role != before.role
                    || after.status == offers_core::api::UserStatus::Disabled
                {
                    // Their spare invitation links stop working.
                    sqlx::query(
                        "DELETE FROM invitations WHERE project_id = $1 AND email = $2 \
                         AND accepted_ms IS NULL",
                    )
                    .bind(project_id)
                    .bind(&after.email)
                    .execute(&mut *tx)
                    .await?;
                }
                if !changes.is_empty() {
                    let record = AuditRecord::new(
                        "person.updated",
                        format!("person:{}", after.email),
                        changes,
                    );
                    Self::write_audit(&mut tx, project_id, actor, &record, now).await?;
                }
                self.commit(tx, None).await?;
                Ok(PersonChange::Done(Box::new(after)))
            }

            async fn transfer_ownership(
                &self,
                actor: &$crate::store::people::Actor,
                project_id: i64,
                from_user: i64,
                to_user: i64,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::store::people::PersonChange, $crate::store::StoreError> {
                use offers_core::access::BuiltInRole;
                use $crate::store::people::{AuditRecord, PersonChange, diff};
                let mut tx = self.begin_write().await?;
                sqlx::query(&format!(
                    "SELECT user_id FROM memberships WHERE project_id = $1{}",
                    Self::FOR_UPDATE
                ))
                .bind(project_id)
                .fetch_all(&mut *tx)
                .await?;
                let from = Self::person_in(&mut tx, project_id, from_user).await?;
                let to = Self::person_in(&mut tx, project_id, to_user).await?;
                let (Some(from), Some(to)) = (from, to) else {
                    tx.rollback().await?;
                    return Ok(PersonChange::NotFound);
                };
                if !from.owner || to.status != offers_core::api::UserStatus::Active {
                    tx.rollback().await?;
                    return Ok(PersonChange::OwnerConflict);
                }
                if from.id != to.id {
                    for (user, role, owner) in [
                        (from_user, BuiltInRole::Editor.as_str(), false),
                        (to_user, BuiltInRole::Owner.as_str(), true),
                    ] {
                        sqlx::query(
                            "UPDATE memberships SET role = $3, is_owner = $4 \
                             WHERE project_id = $1 AND user_id = $2",
                        )
                        .bind(project_id)
                        .bind(user)
                        .bind(role)
                        .bind(owner)
                        .execute(&mut *tx)
                        .await?;
                    }
                    let changes = diff(
                        &serde_json::json!({ "owner": from.email }),
                        &serde_json::json!({ "owner": to.email }),
                    );
                    let record = AuditRecord::new(
                        "person.ownership_transferred",
                        format!("person:{}", to.email),
                        changes,
                    );
                    Self::write_audit(&mut tx, project_id, actor, &record, now).await?;
                }
                let Some(new_owner) = Self::person_in(&mut tx, project_id, to_user).await? else {
                    tx.rollback().await?;
                    return Ok(PersonChange::NotFound);
                };
                self.commit(tx, None).await?;
                Ok(PersonChange::Done(Box::new(new_owner)))
            }

            async fn memberships(
                &self,
                user_id: i64,
            ) -> Result<Vec<$crate::store::people::MembershipRow>, $crate::store::StoreError>
            {
                self.memberships_where("", user_id, None).await
            }

            async fn membership(
                &self,
                project_id: i64,
                user_id: i64,
            ) -> Result<Option<$crate::store::people::MembershipRow>, $crate::store::StoreError>
            {
                Ok(self
                    .memberships_where("AND m.project_id = $2", user_id, Some(project_id))
                    .await?
                    .pop())
            }

            async fn create_session(
                &self,
                user_id: i64,
                token_hash: &str,
                csrf_token: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::store::StoreError> {
                let now = $crate::store::millis(now);
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO sessions (token_hash, user_id, csrf_token, created_ms, \
                     last_seen_ms) VALUES ($1, $2, $3, $4, $4)",
                )
                .bind(token_hash)
                .bind(user_id)
                .bind(csrf_token)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE users SET last_sign_in_ms = $2 WHERE id = $1")
                    .bind(user_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                self.commit(tx, None).await
            }

            async fn session(
                &self,
                token_hash: &str,
                idle_since: chrono::DateTime<chrono::Utc>,
                created_since: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<$crate::store::people::SessionRow>, $crate::store::StoreError> {
                use sqlx::Row as _;
                let columns = $crate::store::USER_COLUMNS
                    .split(", ")
                    .map(|c| format!("u.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let row = sqlx::query(&format!(
                    "SELECT {columns}, s.csrf_token, s.created_ms AS session_created_ms, \
                     s.last_seen_ms FROM sessions s JOIN users u ON u.id = s.user_id \
                     WHERE s.token_hash = $1 AND s.last_seen_ms > $2 AND s.created_ms > $3"
                ))
                .bind(token_hash)
                .bind($crate::store::millis(idle_since))
                .bind($crate::store::millis(created_since))
                .fetch_optional(&self.pool)
                .await?;
                let Some(row) = row else {
                    return Ok(None);
                };
                Ok(Some($crate::store::people::SessionRow {
                    user: $crate::store::user_from_row(&row)?,
                    csrf_token: row.try_get("csrf_token")?,
                    created_at: $crate::store::from_millis(row.try_get("session_created_ms")?)?,
                    last_seen_at: $crate::store::from_millis(row.try_get("last_seen_ms")?)?,
                }))
            }

            async fn touch_session(
                &self,
                token_hash: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::store::StoreError> {
                let now = $crate::store::millis(now);
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "UPDATE sessions SET last_seen_ms = $2 WHERE token_hash = $1 \
                     AND last_seen_ms < $3",
                )
                .bind(token_hash)
                .bind(now)
                .bind(now - $crate::store::TOUCH_EVERY_MS)
                .execute(&mut *tx)
                .await?;
                self.commit(tx, None).await
            }

            async fn delete_session(&self, token_hash: &str) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                    .bind(token_hash)
                    .execute(&mut *tx)
                    .await?;
                self.commit(tx, None).await
            }
        }
    };
}

pub(crate) use people_sql_store;
