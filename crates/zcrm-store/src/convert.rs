//! Lead conversion: one transaction that makes (or links) the Account and
//! Contact, optionally creates a Deal, moves the lead's notes and activities
//! over, and marks the lead converted. If any step fails nothing is kept: no
//! orphan Contact, no half-converted lead.

use crate::db::{int, opt_int, Conn};
use crate::outbox::{self, Change, Op};
use crate::records::{
    exists, insert_one, read_row, select_list, table, update_one, OrgStore, WriteCtx, WriteRow,
};
use crate::schema::{col, module_col};
use crate::Refusal;
use crate::StoreError;
use std::sync::Arc;
use zcrm_core::meta::{Catalog, Module};
use zcrm_core::value::{Checked, SqlValue};

/// Lead field → Contact field, as Zoho's default conversion mapping.
const TO_CONTACT: &[(&str, &str)] = &[
    ("Salutation", "Salutation"),
    ("First_Name", "First_Name"),
    ("Last_Name", "Last_Name"),
    ("Full_Name", "Full_Name"),
    ("Email", "Email"),
    ("Secondary_Email", "Secondary_Email"),
    ("Phone", "Phone"),
    ("Mobile", "Mobile"),
    ("Fax", "Fax"),
    ("Designation", "Title"),
    ("Lead_Source", "Lead_Source"),
    ("Email_Opt_Out", "Email_Opt_Out"),
    ("Skype_ID", "Skype_ID"),
    ("Twitter", "Twitter"),
    ("Street", "Mailing_Street"),
    ("City", "Mailing_City"),
    ("State", "Mailing_State"),
    ("Zip_Code", "Mailing_Zip"),
    ("Country", "Mailing_Country"),
    ("Description", "Description"),
];

/// Lead field → Account field.
const TO_ACCOUNT: &[(&str, &str)] = &[
    ("Company", "Account_Name"),
    ("Phone", "Phone"),
    ("Fax", "Fax"),
    ("Website", "Website"),
    ("Industry", "Industry"),
    ("No_of_Employees", "Employees"),
    ("Annual_Revenue", "Annual_Revenue"),
    ("Rating", "Rating"),
    ("Street", "Billing_Street"),
    ("City", "Billing_City"),
    ("State", "Billing_State"),
    ("Zip_Code", "Billing_Code"),
    ("Country", "Billing_Country"),
];

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

fn module<'a>(catalog: &'a Catalog, name: &str) -> Result<&'a Arc<Module>, StoreError> {
    catalog
        .module(name)
        .ok_or_else(|| StoreError::Other(format!("module {name} missing from the catalog")))
}

/// Values of `lead` mapped onto `target` through `map` (only fields both have, only non-null).
fn mapped(
    lead: &Module,
    values: &[SqlValue],
    target: &Module,
    map: &[(&str, &str)],
) -> Vec<(usize, Checked)> {
    map.iter()
        .filter_map(|(from, to)| {
            let fi = lead.fields.iter().position(|f| f.api_name == *from)?;
            let ti = target.fields.iter().position(|f| f.api_name == *to)?;
            let v = values.get(fi)?;
            (!v.is_null()).then(|| {
                (
                    ti,
                    Checked {
                        value: v.clone(),
                        lookup_module: None,
                    },
                )
            })
        })
        .collect()
}

fn set(m: &Module, row: &mut WriteRow, name: &str, v: SqlValue) {
    if let Some(i) = m.fields.iter().position(|f| f.api_name == name) {
        row.values.retain(|(j, _)| *j != i);
        row.values.push((
            i,
            Checked {
                value: v,
                lookup_module: None,
            },
        ));
    }
}

fn name_of(c: &mut dyn Conn, prefix: &str, m: &Module, id: i64) -> Result<String, StoreError> {
    let r = c.row(
        &format!(
            "SELECT {} FROM {} WHERE id = ?1",
            col(&m.display_field),
            table(prefix, m)
        ),
        &[id.into()],
    )?;
    Ok(r.and_then(|r| r[0].as_str().map(String::from))
        .unwrap_or_default())
}

fn row(values: Vec<(usize, Checked)>, path: &str, id: Option<i64>) -> WriteRow {
    WriteRow {
        values,
        json_path: path.into(),
        id,
        upsert_on: Vec::new(),
    }
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
        self.db
            .read(move |c| {
                Ok(match c.row(&sql, &[lead_id.into()])? {
                    Some(r) => Some(ConversionDetail {
                        contact: opt_int(&r[0]),
                        account: opt_int(&r[1]),
                        deal: opt_int(&r[2]),
                        time: int(&r[3])?,
                        by: int(&r[4])?,
                    }),
                    None => None,
                })
            })
            .await
    }
}

fn convert(
    c: &mut dyn Conn,
    catalog: &Catalog,
    prefix: &str,
    req: ConvertRequest,
    ctx: &WriteCtx,
) -> Result<Result<Converted, Refusal>, StoreError> {
    let (leads, contacts, accounts, deals) = (
        module(catalog, "Leads")?,
        module(catalog, "Contacts")?,
        module(catalog, "Accounts")?,
        module(catalog, "Deals")?,
    );
    let all: Vec<usize> = (0..leads.fields.len()).collect();
    let lead = c.row(
        &format!(
            "SELECT {} FROM {} t WHERE t.id = ?1",
            select_list(prefix, catalog, leads, &all),
            table(prefix, leads)
        ),
        &[req.lead_id.into()],
    )?;
    let Some(lead) = lead else {
        return Ok(Err(Refusal::NoRecordAtPath(1)));
    };
    let lead = read_row(catalog, leads, &all, lead)?;
    let values: Vec<SqlValue> = lead.cells.iter().map(|c| c.value.clone()).collect();
    let get = |name: &str| {
        leads
            .fields
            .iter()
            .position(|f| f.api_name == name)
            .map(|i| &values[i])
    };
    if get("Converted__s").and_then(|v| v.as_i64()) == Some(1) {
        return Ok(Err(Refusal::AlreadyConverted));
    }
    let owner = req
        .assign_to
        .or_else(|| get("Owner").and_then(|v| v.as_i64()))
        .unwrap_or(ctx.user);
    if !ctx.users.contains(&owner) {
        return Ok(Err(Refusal::invalid("assign_to", "$.data[0].assign_to")));
    }

    // The Account: the one named, else the one with the lead's company name, else a new one.
    let account: Linked = match req.account_id {
        Some(id) => {
            if !exists(c, prefix, accounts, id)? {
                return Ok(Err(Refusal::invalid("Accounts", "$.data[0].Accounts")));
            }
            if req.overwrite {
                let mut r = row(
                    mapped(leads, &values, accounts, TO_ACCOUNT),
                    "$.data[0].Accounts",
                    Some(id),
                );
                r.values
                    .retain(|(i, _)| accounts.fields[*i].api_name != "Account_Name");
                if let Err(e) = update_one(c, prefix, catalog, accounts, &r, ctx, id)? {
                    return Ok(Err(e));
                }
            }
            Some((id, name_of(c, prefix, accounts, id)?))
        }
        None => match get("Company")
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(company) => {
                let d = c.dialect();
                let found = c.row(
                    &format!(
                        "SELECT id FROM {} WHERE {} = {} ORDER BY id LIMIT 1",
                        table(prefix, accounts),
                        d.ci(&col("Account_Name")),
                        d.ci("?1")
                    ),
                    &[company.into()],
                )?;
                match found {
                    Some(r) => {
                        let id = int(&r[0])?;
                        Some((id, name_of(c, prefix, accounts, id)?))
                    }
                    None => {
                        let mut r = row(
                            mapped(leads, &values, accounts, TO_ACCOUNT),
                            "$.data[0].Accounts",
                            None,
                        );
                        set(accounts, &mut r, "Owner", owner.into());
                        match insert_one(c, prefix, catalog, accounts, &r, ctx, req.new_ids[0])? {
                            Ok(s) => Some((s.id, name_of(c, prefix, accounts, s.id)?)),
                            Err(e) => return Ok(Err(e)),
                        }
                    }
                }
            }
        },
    };

    // The Contact: the one named (optionally overwritten), else a new one.
    let contact_id = match req.contact_id {
        Some(id) => {
            if !exists(c, prefix, contacts, id)? {
                return Ok(Err(Refusal::invalid("Contacts", "$.data[0].Contacts")));
            }
            let mut r = row(
                if req.overwrite {
                    mapped(leads, &values, contacts, TO_CONTACT)
                } else {
                    Vec::new()
                },
                "$.data[0].Contacts",
                Some(id),
            );
            if let Some((aid, _)) = &account {
                set(contacts, &mut r, "Account_Name", (*aid).into());
            }
            if let Err(e) = update_one(c, prefix, catalog, contacts, &r, ctx, id)? {
                return Ok(Err(e));
            }
            id
        }
        None => {
            let mut r = row(
                mapped(leads, &values, contacts, TO_CONTACT),
                "$.data[0].Contacts",
                None,
            );
            set(contacts, &mut r, "Owner", owner.into());
            if let Some((aid, _)) = &account {
                set(contacts, &mut r, "Account_Name", (*aid).into());
            }
            match insert_one(c, prefix, catalog, contacts, &r, ctx, req.new_ids[1])? {
                Ok(s) => s.id,
                Err(e) => return Ok(Err(e)),
            }
        }
    };
    let contact = (contact_id, name_of(c, prefix, contacts, contact_id)?);

    // The Deal, when asked for, tied to both.
    let deal: Linked = match req.deal {
        None => None,
        Some(mut r) => {
            if let Some((aid, _)) = &account {
                set(deals, &mut r, "Account_Name", (*aid).into());
            }
            set(deals, &mut r, "Contact_Name", contact_id.into());
            if !r
                .values
                .iter()
                .any(|(i, _)| deals.fields[*i].api_name == "Owner")
            {
                set(deals, &mut r, "Owner", owner.into());
            }
            match insert_one(c, prefix, catalog, deals, &r, ctx, req.new_ids[2])? {
                Ok(s) => Some((s.id, name_of(c, prefix, deals, s.id)?)),
                Err(e) => return Ok(Err(e)),
            }
        }
    };

    // Notes and activities of the lead follow it to the contact.
    if let Some(notes) = catalog.module("Notes") {
        if let Some(parent) = notes.field("Parent_Id") {
            c.exec(
                &format!(
                    "UPDATE {} SET {p} = ?1, {pm} = 'Contacts' WHERE {p} = ?2",
                    table(prefix, notes),
                    p = col(&parent.api_name),
                    pm = module_col(parent)
                ),
                &[contact_id.into(), req.lead_id.into()],
            )?;
        }
    }
    c.exec(
        &format!("UPDATE {prefix}attachments SET parent_module = 'Contacts', parent_id = ?1 WHERE parent_module = 'Leads' AND parent_id = ?2"),
        &[contact_id.into(), req.lead_id.into()],
    )?;
    for name in ["Tasks", "Events", "Calls"] {
        let Some(m) = catalog.module(name) else {
            continue;
        };
        for fname in ["Who_Id", "What_Id"] {
            let Some(f) = m.field(fname) else { continue };
            if !f.is_multi_module() {
                continue;
            }
            let (target, module_name) = match (fname, &deal, &account) {
                ("Who_Id", _, _) => (Some(contact_id), "Contacts"),
                (_, Some((d, _)), _) => (Some(*d), "Deals"),
                (_, None, Some((a, _))) => (Some(*a), "Accounts"),
                _ => (None, ""),
            };
            c.exec(
                &format!(
                    "UPDATE {} SET {f} = ?1, {fm} = ?2 WHERE {f} = ?3 AND {fm} = 'Leads'",
                    table(prefix, m),
                    f = col(fname),
                    fm = module_col(f)
                ),
                &[
                    target.into(),
                    if target.is_some() {
                        module_name.into()
                    } else {
                        SqlValue::Null
                    },
                    req.lead_id.into(),
                ],
            )?;
        }
    }
    c.exec(
        &format!(
            "UPDATE {} SET {conv} = 1, {when} = ?1, {mt} = ?1, {mb} = ?2 WHERE id = ?3",
            table(prefix, leads),
            conv = col("Converted__s"),
            when = col("Converted_Date_Time"),
            mt = col("Modified_Time"),
            mb = col("Modified_By")
        ),
        &[ctx.now.into(), ctx.user.into(), req.lead_id.into()],
    )?;
    c.exec(
        &format!(
            "INSERT INTO {prefix}lead_conversions (lead_id, contact_id, account_id, deal_id, converted_time, converted_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        ),
        &[
            req.lead_id.into(),
            contact_id.into(),
            account.as_ref().map(|a| a.0).into(),
            deal.as_ref().map(|d| d.0).into(),
            ctx.now.into(),
            ctx.user.into(),
        ],
    )?;
    Ok(Ok(Converted {
        contact,
        account,
        deal,
    }))
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
