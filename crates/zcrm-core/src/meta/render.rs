//! Zoho's JSON shapes of module and field metadata (`/settings/modules`,
//! `/settings/fields`). The SDKs pick response classes by key and JSON type, so
//! keys are spelled and typed as Zoho sends them.

use super::{Catalog, DataType, Field, Module};
use serde_json::{json, Map, Value};

const MODIFIED: &str = "2026-01-01T00:00:00+00:00";

impl Field {
    pub fn to_zoho_json(&self, module: &Module, catalog: &Catalog) -> Value {
        let mut m = Map::new();
        let dt = self.data_type;
        self.identity_json(&mut m, module);
        self.settings_json(&mut m);
        if matches!(dt, DataType::Currency) {
            m.insert(
                "currency".into(),
                json!({"rounding_option": "normal", "precision": self.decimal_place.unwrap_or(2)}),
            );
        }
        m.insert("pick_list_values".into(), self.pick_list_json());
        m.insert("lookup".into(), self.lookup_json(catalog));
        if self.is_multi_module() {
            let mods: Vec<Value> = self
                .lookup_modules
                .iter()
                .filter_map(|n| catalog.module(n))
                .map(|t| json!({"api_name": t.api_name, "id": t.id}))
                .collect();
            m.insert("multi_module_lookup".into(), json!({"modules": mods}));
        }
        if dt == DataType::Subform {
            m.insert(
                "associated_module".into(),
                json!({"module": self.api_name, "id": super::stable_id("module", &self.api_name)}),
            );
        }
        Value::Object(m)
    }

    /// What the field is: names, type, flags (keys in Zoho's order).
    fn identity_json(&self, m: &mut Map<String, Value>, module: &Module) {
        let dt = self.data_type;
        m.insert("id".into(), self.id.clone().into());
        m.insert("api_name".into(), self.api_name.clone().into());
        m.insert("field_label".into(), self.field_label.clone().into());
        m.insert("display_label".into(), self.field_label.clone().into());
        m.insert(
            "column_name".into(),
            self.api_name.to_ascii_uppercase().into(),
        );
        m.insert("data_type".into(), dt.as_str().into());
        m.insert("json_type".into(), dt.json_type().into());
        m.insert("length".into(), self.length.into());
        m.insert("system_mandatory".into(), self.system_mandatory.into());
        m.insert("read_only".into(), self.read_only.into());
        m.insert("field_read_only".into(), self.system.into());
        m.insert("custom_field".into(), false.into());
        m.insert("visible".into(), true.into());
        m.insert("sortable".into(), self.sortable.into());
        m.insert("filterable".into(), true.into());
        m.insert("searchable".into(), self.searchable.into());
        m.insert("mass_update".into(), (!self.read_only).into());
        m.insert("sequence_number".into(), self.sequence_number.into());
        m.insert("quick_sequence_number".into(), self.sequence_number.into());
        m.insert("created_source".into(), "default".into());
        m.insert("created_time".into(), Value::Null);
        m.insert("modified_time".into(), MODIFIED.into());
        m.insert("ui_type".into(), ui_type(dt).into());
        m.insert("type".into(), "used".into());
        m.insert("display_type".into(), (-1).into());
        m.insert("webhook".into(), true.into());
        m.insert("virtual_field".into(), false.into());
        m.insert("businesscard_supported".into(), true.into());
        m.insert("blueprint_supported".into(), true.into());
        m.insert("enable_colour_code".into(), false.into());
        m.insert("pick_list_values_sorted_lexically".into(), false.into());
        m.insert("separator".into(), false.into());
        m.insert("static_field".into(), false.into());
        m.insert(
            "display_field".into(),
            (module.display_field == self.api_name).into(),
        );
    }

    /// Its settings: nested objects, permissions (keys in Zoho's order).
    fn settings_json(&self, m: &mut Map<String, Value>) {
        m.insert("history_tracking".into(), Value::Null);
        m.insert("tooltip".into(), Value::Null);
        m.insert("crypt".into(), Value::Null);
        m.insert("external".into(), Value::Null);
        m.insert("private".into(), Value::Null);
        m.insert("associated_module".into(), Value::Null);
        m.insert("formula".into(), json!({}));
        m.insert("currency".into(), json!({}));
        m.insert("auto_number".into(), json!({}));
        m.insert("multiselectlookup".into(), json!({}));
        m.insert("multiuserlookup".into(), json!({}));
        m.insert("subform".into(), Value::Null);
        m.insert(
            "decimal_place".into(),
            self.decimal_place.map(Value::from).unwrap_or(Value::Null),
        );
        m.insert(
            "default_value".into(),
            self.default_value.clone().unwrap_or(Value::Null),
        );
        m.insert(
            "unique".into(),
            if self.unique {
                json!({"casesensitive": "false"})
            } else {
                json!({})
            },
        );
        m.insert(
            "view_type".into(),
            json!({"view": true, "edit": !self.read_only, "quick_create": self.system_mandatory, "create": !self.read_only}),
        );
        m.insert(
            "operation_type".into(),
            json!({"web_update": !self.read_only, "api_create": !self.read_only, "web_create": !self.read_only, "api_update": !self.read_only}),
        );
        m.insert(
            "profiles".into(),
            json!([{"permission_type": if self.read_only {"read_only"} else {"read_write"}, "name": "Administrator", "id": super::stable_id("profile", "Administrator")}]),
        );
    }

    fn pick_list_json(&self) -> Value {
        let picks: Vec<Value> = self
            .pick_list_values
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut v = Map::new();
                v.insert("display_value".into(), p.display_value.clone().into());
                v.insert("sequence_number".into(), (i as u32 + 1).into());
                v.insert("reference_value".into(), p.display_value.clone().into());
                v.insert("colour_code".into(), Value::Null);
                v.insert("actual_value".into(), p.actual_value.clone().into());
                v.insert(
                    "id".into(),
                    super::stable_id("pick", &format!("{}:{}", self.id, p.actual_value)).into(),
                );
                v.insert("type".into(), "used".into());
                for (k, x) in &p.extra {
                    v.insert(k.clone(), x.clone());
                }
                Value::Object(v)
            })
            .collect();
        Value::Array(picks)
    }

    fn lookup_json(&self, catalog: &Catalog) -> Value {
        match (&self.lookup, self.data_type) {
            (Some(target), DataType::Lookup) => catalog
                .module(target)
                .map(|t| {
                    json!({"display_label": self.field_label, "api_name": self.api_name,
                           "module": {"api_name": t.api_name, "id": t.id},
                           "id": super::stable_id("lookup", &self.id),
                           "query_details": {}, "revalidate_filter_during_edit": false})
                })
                .unwrap_or(json!({})),
            _ => json!({}),
        }
    }
}

fn ui_type(dt: DataType) -> u32 {
    use DataType::*;
    match dt {
        Text => 1,
        Textarea => 3,
        Email => 25,
        Phone => 33,
        Website => 21,
        Integer | Bigint => 32,
        Double | Decimal => 39,
        Currency => 36,
        Percent => 38,
        Boolean => 301,
        Date => 24,
        Datetime => 333,
        Lookup => 133,
        Ownerlookup | Userlookup => 8,
        Picklist => 2,
        Multiselectpicklist => 100,
        _ => 1,
    }
}

impl Module {
    /// One entry of `GET /settings/modules`.
    pub fn to_zoho_json(&self) -> Value {
        json!({
            "id": self.id,
            "api_name": self.api_name,
            "module_name": self.module_name,
            "singular_label": self.singular_label,
            "plural_label": self.plural_label,
            "actual_singular_label": self.singular_label,
            "actual_plural_label": self.plural_label,
            "api_supported": true,
            "generated_type": "default",
            "status": "visible",
            "visibility": 1,
            "visible": true,
            "creatable": self.creatable,
            "editable": self.editable,
            "deletable": self.deletable,
            "viewable": self.viewable,
            "convertable": self.convertable,
            "quick_create": self.quick_create,
            "global_search_supported": self.global_search_supported,
            "recycle_bin_on_delete": true,
            "presence_sub_menu": false,
            "sub_menu_available": false,
            "show_as_tab": true,
            "triggers_supported": true,
            "filter_supported": true,
            "feeds_required": false,
            "scoring_supported": false,
            "webform_supported": false,
            "kanban_view_supported": true,
            "chart_view_supported": true,
            "emailTemplate_support": true,
            "email_parser_supported": false,
            "inventory_template_supported": false,
            "isBlueprintSupported": true,
            "has_more_profiles": false,
            "profile_count": 1,
            "business_card_field_limit": 5,
            "sequence_number": self.sequence_number,
            "modified_time": MODIFIED,
            "modified_by": null,
            "description": null,
            "web_link": null,
            "arguments": [],
            "parent_module": {},
            "access_type": "org_based",
            "track_current_data": false,
            "activity_badge": "Not_Supported",
            "profiles": [{"name": "Administrator", "id": super::stable_id("profile", "Administrator")}],
        })
    }
}
