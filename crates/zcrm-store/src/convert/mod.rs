//! Lead conversion: one transaction that makes (or links) the Account and
//! Contact, optionally creates a Deal, moves the lead's notes and activities
//! over, and marks the lead converted. If any step fails nothing is kept: no
//! orphan Contact, no half-converted lead.
//!
//! `steps`: the conversion itself, step by step; here: what is asked and
//! answered, and the notifications.

mod steps;

use crate::db::{int, opt_int, Conn};
use crate::org::{OrgStore, WriteCtx};
use crate::outbox::{self, Change, Op};
use crate::records::WriteRow;
use crate::Refusal;
use crate::StoreError;
use steps::convert;
use zcrm_core::meta::Catalog;

/// What the client asked for.
pub struct ConvertRequest {
    pub lead_id: i64,
    /// Link to this existing Account instead of creating or matching one.
    pub account_id: Option<i64>,
    /// Link to this existing Contact instead of creating one.
    pub contact_id: Option<i64>,
    /// With `contact_id`/`account_id`: copy the lead's values over theirs.
    pub overwrite: bool,
    /// A Deal to create (checked by the caller as a Deals create).
    pub deal: Option<WriteRow>,
    /// Owner of the new records; default the lead's owner.
    pub assign_to: Option<i64>,
    /// Fresh ids for the Account, Contact and Deal that may be created.
    pub new_ids: [i64; 3],
}

/// A record of the outcome: (id, display name).
pub type Linked = Option<(i64, String)>;

pub struct Converted {
    pub contact: (i64, String),
    pub account: Linked,
    pub deal: Linked,
}

/// The lead's conversion, if it was converted: contact, account, deal, time, by.
pub struct ConversionDetail {
    pub contact: Option<i64>,
    pub account: Option<i64>,
    pub deal: Option<i64>,
    pub time: i64,
    pub by: i64,
}

impl OrgStore {
    pub async fn convert_lead(
        &self,
        req: ConvertRequest,
        ctx: WriteCtx,
    ) -> Result<Result<Converted, Refusal>, StoreError> {
        let (catalog, prefix) = (self.catalog.clone(), self.prefix.clone());
        let r = self
            .db
            .write(move |c| {
                let (lead_id, new_ids) = (req.lead_id, req.new_ids);
                let out = convert(c, &catalog, &prefix, req, &ctx)?;
                // A refused conversion must leave nothing behind: fail the transaction.
                match out {
                    Ok(done) => {
                        notify_conversion(c, &catalog, &prefix, &done, lead_id, new_ids, ctx.now)?;
                        Ok(Ok(done))
                    }
                    Err(e) => Err(StoreError::Refused(Box::new(e))),
                }
            })
            .await;
        match r {
            Ok(x) => Ok(x),
            Err(StoreError::Refused(e)) => Ok(Err(*e)),
            Err(e) => Err(e),
        }
    }

    pub async fn conversion(&self, lead_id: i64) -> Result<Option<ConversionDetail>, StoreError> {
        let sql = format!(
            "SELECT contact_id, account_id, deal_id, converted_time, converted_by FROM {}lead_conversions WHERE lead_id = ?1",
            self.prefix
        );
        let rows = self.db.point_read(sql, vec![lead_id.into()]).await?;
        Ok(match rows.first() {
            Some(r) => Some(ConversionDetail {
                contact: opt_int(&r[0]),
                account: opt_int(&r[1]),
                deal: opt_int(&r[2]),
                time: int(&r[3])?,
                by: int(&r[4])?,
            }),
            None => None,
        })
    }
}

/// A conversion's notifications, in its transaction: the lead is updated
/// (converted); the contact, account and deal are inserted when the
/// conversion created them, updated when it linked existing ones.
fn notify_conversion(
    c: &mut dyn Conn,
    catalog: &Catalog,
    prefix: &str,
    done: &Converted,
    lead_id: i64,
    new_ids: [i64; 3],
    now: i64,
) -> Result<(), StoreError> {
    let change = |id: i64, new_id: i64| Change {
        op: if id == new_id { Op::Insert } else { Op::Update },
        id,
        fields: Vec::new(),
    };
    let lead = Change {
        op: Op::Update,
        id: lead_id,
        fields: vec!["Converted__s".into()],
    };
    outbox::enqueue(c, prefix, catalog, "Leads", &[lead], now, false)?;
    outbox::enqueue(
        c,
        prefix,
        catalog,
        "Contacts",
        &[change(done.contact.0, new_ids[1])],
        now,
        false,
    )?;
    if let Some((id, _)) = &done.account {
        outbox::enqueue(
            c,
            prefix,
            catalog,
            "Accounts",
            &[change(*id, new_ids[0])],
            now,
            false,
        )?;
    }
    if let Some((id, _)) = &done.deal {
        outbox::enqueue(
            c,
            prefix,
            catalog,
            "Deals",
            &[change(*id, new_ids[2])],
            now,
            false,
        )?;
    }
    Ok(())
}
