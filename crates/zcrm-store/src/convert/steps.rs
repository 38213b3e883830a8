//! A lead's conversion, step by step, inside its transaction: read the lead,
//! find or make the Account, the Contact and the Deal, move the lead's
//! children over, and mark it converted.

use super::{ConvertRequest, Converted, Linked};
use crate::db::{int, Conn};
use crate::org::WriteCtx;
use crate::records::{insert_one, update_one, WriteRow};
use crate::rows::{exists, read_row, select_list, table};
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

/// One conversion under way: the modules it touches, the lead's values, and
/// who owns what it creates.
struct Conversion<'a> {
    catalog: &'a Catalog,
    prefix: &'a str,
    ctx: &'a WriteCtx,
    leads: &'a Module,
    contacts: &'a Module,
    accounts: &'a Module,
    deals: &'a Module,
    /// The lead's values, by field index.
    values: Vec<SqlValue>,
    owner: i64,
}
pub(super) fn convert(
    c: &mut dyn Conn,
    catalog: &Catalog,
    prefix: &str,
    mut req: ConvertRequest,
    ctx: &WriteCtx,
) -> Result<Result<Converted, Refusal>, StoreError> {
    let conv = match Conversion::start(c, catalog, prefix, &req, ctx)? {
        Ok(conv) => conv,
        Err(e) => return Ok(Err(e)),
    };
    let account = match conv.account(c, &req)? {
        Ok(a) => a,
        Err(e) => return Ok(Err(e)),
    };
    let contact_id = match conv.contact(c, &req, &account)? {
        Ok(id) => id,
        Err(e) => return Ok(Err(e)),
    };
    let contact = (contact_id, name_of(c, prefix, conv.contacts, contact_id)?);
    let deal = match req.deal.take() {
        None => None,
        Some(r) => match conv.deal(c, r, &account, contact_id, req.new_ids[2])? {
            Ok(d) => Some(d),
            Err(e) => return Ok(Err(e)),
        },
    };
    let done = Converted {
        contact,
        account,
        deal,
    };
    conv.move_children(c, req.lead_id, &done)?;
    conv.mark_converted(c, req.lead_id, &done)?;
    Ok(Ok(done))
}

impl<'a> Conversion<'a> {
    /// Reads the lead: it must exist, not be converted yet, and its new owner
    /// (`assign_to`, else its own) must be a user of the org.
    fn start(
        c: &mut dyn Conn,
        catalog: &'a Catalog,
        prefix: &'a str,
        req: &ConvertRequest,
        ctx: &'a WriteCtx,
    ) -> Result<Result<Conversion<'a>, Refusal>, StoreError> {
        let leads = module(catalog, "Leads")?;
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
        let mut conv = Conversion {
            catalog,
            prefix,
            ctx,
            leads,
            contacts: module(catalog, "Contacts")?,
            accounts: module(catalog, "Accounts")?,
            deals: module(catalog, "Deals")?,
            values: lead.cells.into_iter().map(|c| c.value).collect(),
            owner: ctx.user,
        };
        if conv.get("Converted__s").and_then(|v| v.as_i64()) == Some(1) {
            return Ok(Err(Refusal::AlreadyConverted));
        }
        conv.owner = req
            .assign_to
            .or_else(|| conv.get("Owner").and_then(|v| v.as_i64()))
            .unwrap_or(ctx.user);
        if !ctx.users.contains(&conv.owner) {
            return Ok(Err(Refusal::invalid("assign_to", "$.data[0].assign_to")));
        }
        Ok(Ok(conv))
    }

    /// The lead's value of field `name`.
    fn get(&self, name: &str) -> Option<&SqlValue> {
        let i = self.leads.fields.iter().position(|f| f.api_name == name)?;
        Some(&self.values[i])
    }

    /// The lead's values mapped onto `target`, as a row to write.
    fn row_for(
        &self,
        target: &Module,
        map: &[(&str, &str)],
        path: &str,
        id: Option<i64>,
    ) -> WriteRow {
        row(mapped(self.leads, &self.values, target, map), path, id)
    }

    /// The Account: the one named (optionally overwritten), else the one with
    /// the lead's company name, else a new one; none without a company.
    fn account(
        &self,
        c: &mut dyn Conn,
        req: &ConvertRequest,
    ) -> Result<Result<Linked, Refusal>, StoreError> {
        let (prefix, accounts) = (self.prefix, self.accounts);
        if let Some(id) = req.account_id {
            if !exists(c, prefix, accounts, id)? {
                return Ok(Err(Refusal::invalid("Accounts", "$.data[0].Accounts")));
            }
            if req.overwrite {
                let mut r = self.row_for(accounts, TO_ACCOUNT, "$.data[0].Accounts", Some(id));
                r.values
                    .retain(|(i, _)| accounts.fields[*i].api_name != "Account_Name");
                if let Err(e) = update_one(c, prefix, self.catalog, accounts, &r, self.ctx, id)? {
                    return Ok(Err(e));
                }
            }
            return Ok(Ok(Some((id, name_of(c, prefix, accounts, id)?))));
        }
        let company = self
            .get("Company")
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let Some(company) = company else {
            return Ok(Ok(None));
        };
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
        if let Some(r) = found {
            let id = int(&r[0])?;
            return Ok(Ok(Some((id, name_of(c, prefix, accounts, id)?))));
        }
        let mut r = self.row_for(accounts, TO_ACCOUNT, "$.data[0].Accounts", None);
        set(accounts, &mut r, "Owner", self.owner.into());
        match insert_one(
            c,
            prefix,
            self.catalog,
            accounts,
            &r,
            self.ctx,
            req.new_ids[0],
        )? {
            Ok(s) => Ok(Ok(Some((s.id, name_of(c, prefix, accounts, s.id)?)))),
            Err(e) => Ok(Err(e)),
        }
    }

    /// The Contact: the one named (optionally overwritten), else a new one;
    /// either way tied to the account.
    fn contact(
        &self,
        c: &mut dyn Conn,
        req: &ConvertRequest,
        account: &Linked,
    ) -> Result<Result<i64, Refusal>, StoreError> {
        let (prefix, contacts) = (self.prefix, self.contacts);
        if let Some(id) = req.contact_id {
            if !exists(c, prefix, contacts, id)? {
                return Ok(Err(Refusal::invalid("Contacts", "$.data[0].Contacts")));
            }
            let mut r = if req.overwrite {
                self.row_for(contacts, TO_CONTACT, "$.data[0].Contacts", Some(id))
            } else {
                row(Vec::new(), "$.data[0].Contacts", Some(id))
            };
            if let Some((aid, _)) = account {
                set(contacts, &mut r, "Account_Name", (*aid).into());
            }
            return Ok(
                update_one(c, prefix, self.catalog, contacts, &r, self.ctx, id)?.map(|_| id),
            );
        }
        let mut r = self.row_for(contacts, TO_CONTACT, "$.data[0].Contacts", None);
        set(contacts, &mut r, "Owner", self.owner.into());
        if let Some((aid, _)) = account {
            set(contacts, &mut r, "Account_Name", (*aid).into());
        }
        Ok(insert_one(
            c,
            prefix,
            self.catalog,
            contacts,
            &r,
            self.ctx,
            req.new_ids[1],
        )?
        .map(|s| s.id))
    }

    /// The Deal asked for, tied to the account and the contact.
    fn deal(
        &self,
        c: &mut dyn Conn,
        mut r: WriteRow,
        account: &Linked,
        contact_id: i64,
        new_id: i64,
    ) -> Result<Result<(i64, String), Refusal>, StoreError> {
        let deals = self.deals;
        if let Some((aid, _)) = account {
            set(deals, &mut r, "Account_Name", (*aid).into());
        }
        set(deals, &mut r, "Contact_Name", contact_id.into());
        if !r
            .values
            .iter()
            .any(|(i, _)| deals.fields[*i].api_name == "Owner")
        {
            set(deals, &mut r, "Owner", self.owner.into());
        }
        match insert_one(c, self.prefix, self.catalog, deals, &r, self.ctx, new_id)? {
            Ok(s) => Ok(Ok((s.id, name_of(c, self.prefix, deals, s.id)?))),
            Err(e) => Ok(Err(e)),
        }
    }

    /// Notes, attachments and activities of the lead follow it: to the
    /// contact, activities' `What_Id` to the deal (else the account).
    fn move_children(
        &self,
        c: &mut dyn Conn,
        lead_id: i64,
        done: &Converted,
    ) -> Result<(), StoreError> {
        let (catalog, prefix, contact_id) = (self.catalog, self.prefix, done.contact.0);
        if let Some(notes) = catalog.module("Notes") {
            if let Some(parent) = notes.field("Parent_Id") {
                c.exec(
                    &format!(
                        "UPDATE {} SET {p} = ?1, {pm} = 'Contacts' WHERE {p} = ?2",
                        table(prefix, notes),
                        p = col(&parent.api_name),
                        pm = module_col(parent)
                    ),
                    &[contact_id.into(), lead_id.into()],
                )?;
            }
        }
        c.exec(
            &format!("UPDATE {prefix}attachments SET parent_module = 'Contacts', parent_id = ?1 WHERE parent_module = 'Leads' AND parent_id = ?2"),
            &[contact_id.into(), lead_id.into()],
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
                let (target, module_name) = match (fname, &done.deal, &done.account) {
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
                        lead_id.into(),
                    ],
                )?;
            }
        }
        Ok(())
    }

    /// Marks the lead converted and records what it became.
    fn mark_converted(
        &self,
        c: &mut dyn Conn,
        lead_id: i64,
        done: &Converted,
    ) -> Result<(), StoreError> {
        let (prefix, ctx) = (self.prefix, self.ctx);
        c.exec(
            &format!(
                "UPDATE {} SET {conv} = 1, {when} = ?1, {mt} = ?1, {mb} = ?2 WHERE id = ?3",
                table(prefix, self.leads),
                conv = col("Converted__s"),
                when = col("Converted_Date_Time"),
                mt = col("Modified_Time"),
                mb = col("Modified_By")
            ),
            &[ctx.now.into(), ctx.user.into(), lead_id.into()],
        )?;
        c.exec(
            &format!(
                "INSERT INTO {prefix}lead_conversions (lead_id, contact_id, account_id, deal_id, converted_time, converted_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            ),
            &[
                lead_id.into(),
                done.contact.0.into(),
                done.account.as_ref().map(|a| a.0).into(),
                done.deal.as_ref().map(|d| d.0).into(),
                ctx.now.into(),
                ctx.user.into(),
            ],
        )?;
        Ok(())
    }
}
