//! Module and field metadata. The standard modules are data (`data/modules/*.json`,
//! our own format), loaded once into a [`Catalog`]; everything that needs to know
//! what a field is — validation, storage columns, rendering, the settings APIs —
//! reads it from here.

mod render;

use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

include!(concat!(env!("OUT_DIR"), "/module_files.rs"));

/// Zoho's `data_type` of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataType {
    Text,
    Textarea,
    Email,
    Phone,
    Website,
    Autonumber,
    Integer,
    Bigint,
    Double,
    Percent,
    Currency,
    Decimal,
    Boolean,
    Date,
    Datetime,
    Lookup,
    Ownerlookup,
    Userlookup,
    Picklist,
    Multiselectpicklist,
    Subform,
    Formula,
    Fileupload,
    Imageupload,
    Profileimage,
    #[serde(other)]
    Other,
}

impl DataType {
    pub fn as_str(self) -> &'static str {
        use DataType::*;
        match self {
            Text => "text",
            Textarea => "textarea",
            Email => "email",
            Phone => "phone",
            Website => "website",
            Autonumber => "autonumber",
            Integer => "integer",
            Bigint => "bigint",
            Double => "double",
            Percent => "percent",
            Currency => "currency",
            Decimal => "decimal",
            Boolean => "boolean",
            Date => "date",
            Datetime => "datetime",
            Lookup => "lookup",
            Ownerlookup => "ownerlookup",
            Userlookup => "userlookup",
            Picklist => "picklist",
            Multiselectpicklist => "multiselectpicklist",
            Subform => "subform",
            Formula => "formula",
            Fileupload => "fileupload",
            Imageupload => "imageupload",
            Profileimage => "profileimage",
            Other => "text",
        }
    }

    /// Zoho's `json_type`: what the SDKs expect on the wire.
    pub fn json_type(self) -> &'static str {
        use DataType::*;
        match self {
            Integer => "integer",
            Double | Percent | Currency | Decimal => "double",
            Boolean => "boolean",
            Lookup | Ownerlookup | Userlookup => "jsonobject",
            Multiselectpicklist | Subform | Fileupload | Imageupload => "jsonarray",
            _ => "string",
        }
    }

    /// How the value is kept in a typed column.
    pub fn storage(self) -> Storage {
        use DataType::*;
        match self {
            Integer | Bigint | Lookup | Ownerlookup | Userlookup | Datetime => Storage::Integer,
            Double | Percent | Currency | Decimal => Storage::Real,
            Boolean => Storage::Integer,
            Multiselectpicklist | Subform | Fileupload | Imageupload => Storage::Json,
            _ => Storage::Text,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    Integer,
    Real,
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum PickSpec {
    Plain(String),
    Rich {
        actual_value: String,
        display_value: Option<String>,
        #[serde(flatten)]
        extra: serde_json::Map<String, Value>,
    },
}

#[derive(Debug, Clone)]
pub struct PickValue {
    pub actual_value: String,
    pub display_value: String,
    /// Extra keys (probability, forecast_type, …) carried through to the metadata APIs.
    pub extra: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, Deserialize)]
struct FieldSpec {
    api_name: String,
    field_label: String,
    data_type: DataType,
    #[serde(default)]
    length: Option<u32>,
    #[serde(default)]
    system_mandatory: bool,
    #[serde(default)]
    read_only: bool,
    #[serde(default)]
    unique: bool,
    #[serde(default)]
    decimal_place: Option<u32>,
    #[serde(default)]
    pick_list_values: Vec<PickSpec>,
    #[serde(default)]
    default_value: Option<Value>,
    #[serde(default)]
    lookup: Option<String>,
    #[serde(default)]
    lookup_modules: Vec<String>,
    #[serde(default)]
    subform_fields: Vec<FieldSpec>,
    #[serde(default = "yes")]
    searchable: bool,
    #[serde(default = "yes")]
    sortable: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
pub struct RelatedListSpec {
    pub api_name: String,
    pub display_label: String,
    pub module: String,
    #[serde(default = "default_rl_type")]
    pub r#type: String,
    #[serde(default)]
    pub field: Option<String>,
    /// A many-to-many list (Products of a Deal, Campaigns of a Lead): the
    /// link's name, `<A>.<B>` with the two modules it joins, the same from
    /// either side.
    #[serde(default)]
    pub via: Option<String>,
}

fn default_rl_type() -> String {
    "default".into()
}

#[derive(Debug, Clone, Deserialize)]
pub struct CustomViewSpec {
    pub name: String,
    #[serde(default)]
    pub system_name: Option<String>,
    #[serde(default)]
    pub default: bool,
}

#[derive(Debug, Clone, Deserialize)]
struct ModuleSpec {
    api_name: String,
    module_name: Option<String>,
    singular_label: String,
    plural_label: String,
    #[serde(default)]
    sequence_number: u32,
    #[serde(default = "yes")]
    creatable: bool,
    #[serde(default = "yes")]
    editable: bool,
    #[serde(default = "yes")]
    deletable: bool,
    #[serde(default = "yes")]
    viewable: bool,
    #[serde(default)]
    convertable: bool,
    #[serde(default = "yes")]
    quick_create: bool,
    #[serde(default = "yes")]
    global_search_supported: bool,
    display_field: String,
    #[serde(default)]
    duplicate_check_field: Option<String>,
    fields: Vec<FieldSpec>,
    #[serde(default)]
    related_lists: Vec<RelatedListSpec>,
    #[serde(default)]
    custom_views: Vec<CustomViewSpec>,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub id: String,
    pub api_name: String,
    pub field_label: String,
    pub data_type: DataType,
    pub length: u32,
    pub system_mandatory: bool,
    pub read_only: bool,
    pub unique: bool,
    pub decimal_place: Option<u32>,
    pub pick_list_values: Vec<PickValue>,
    pub default_value: Option<Value>,
    /// Target module of a single-module lookup.
    pub lookup: Option<String>,
    /// Targets of a multi-module lookup (What_Id, Parent_Id …); stored with a `$se_module` companion.
    pub lookup_modules: Vec<String>,
    pub subform_fields: Vec<Field>,
    pub searchable: bool,
    pub sortable: bool,
    /// Maintained by zcrm itself (Created_Time, Modified_By …): never written by a client.
    pub system: bool,
    pub sequence_number: u32,
}

impl Field {
    pub fn is_lookup(&self) -> bool {
        matches!(self.data_type, DataType::Lookup)
    }
    pub fn is_user(&self) -> bool {
        matches!(self.data_type, DataType::Ownerlookup | DataType::Userlookup)
    }
    pub fn is_multi_module(&self) -> bool {
        self.is_lookup() && !self.lookup_modules.is_empty()
    }
    pub fn picklist_has(&self, v: &str) -> bool {
        self.pick_list_values.iter().any(|p| p.actual_value == v)
    }
}

#[derive(Debug)]
pub struct Module {
    pub id: String,
    pub api_name: String,
    pub module_name: String,
    pub singular_label: String,
    pub plural_label: String,
    pub sequence_number: u32,
    pub creatable: bool,
    pub editable: bool,
    pub deletable: bool,
    pub viewable: bool,
    pub convertable: bool,
    pub quick_create: bool,
    pub global_search_supported: bool,
    pub display_field: String,
    pub duplicate_check_field: Option<String>,
    pub fields: Vec<Field>,
    pub related_lists: Vec<RelatedListSpec>,
    pub custom_views: Vec<CustomViewSpec>,
    by_name: HashMap<String, usize>,
}

impl Module {
    /// Whether `$se_module` speaks for field `f`: for `What_Id` where the
    /// module has one (a Task's `Who_Id` is a Contact or a Lead by its own
    /// id), else for any multi-module lookup (a Note's `Parent_Id`).
    pub fn se_module_applies(&self, f: &Field) -> bool {
        f.is_multi_module() && (self.field("What_Id").is_none() || f.api_name == "What_Id")
    }

    pub fn field(&self, api_name: &str) -> Option<&Field> {
        self.by_name
            .get(&api_name.to_ascii_lowercase())
            .map(|&i| &self.fields[i])
    }

    /// Position of a field in `fields`, by API name (any case).
    pub fn field_index(&self, api_name: &str) -> Option<usize> {
        self.by_name.get(&api_name.to_ascii_lowercase()).copied()
    }

    /// Table name of this module's records; derived from metadata, never from a request.
    pub fn table(&self) -> String {
        format!("m_{}", self.api_name.to_ascii_lowercase())
    }

    pub fn has_owner(&self) -> bool {
        self.field("Owner").is_some()
    }

    /// The scope family name: `ZohoCRM.modules.salesorders.READ` names `Sales_Orders` this way.
    pub fn scope_name(&self) -> String {
        self.api_name.to_ascii_lowercase().replace('_', "")
    }
}

/// All modules of an org.
#[derive(Debug)]
pub struct Catalog {
    modules: Vec<Arc<Module>>,
    by_name: HashMap<String, usize>,
}

/// A stable 19-digit id for a metadata object, so ids survive restarts and match across nodes.
pub fn stable_id(kind: &str, name: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in kind.bytes().chain([b':']).chain(name.bytes()) {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    (5_000_000_000_000_000_000u64 + h % 1_000_000_000_000_000).to_string()
}

fn build_field(module: &str, spec: FieldSpec, seq: u32) -> Field {
    let length = spec.length.unwrap_or(match spec.data_type {
        DataType::Textarea => 32000,
        DataType::Integer => 9,
        DataType::Bigint => 18,
        DataType::Currency | DataType::Double | DataType::Decimal => 16,
        DataType::Percent => 5,
        DataType::Phone => 30,
        DataType::Email => 100,
        _ => 255,
    });
    let sub_module = format!("{module}.{}", spec.api_name);
    let subform_fields = spec
        .subform_fields
        .into_iter()
        .enumerate()
        .map(|(i, f)| build_field(&sub_module, f, i as u32 + 1))
        .collect();
    Field {
        id: stable_id("field", &format!("{module}.{}", spec.api_name)),
        field_label: spec.field_label,
        data_type: spec.data_type,
        length,
        system_mandatory: spec.system_mandatory,
        read_only: spec.read_only
            || matches!(spec.data_type, DataType::Formula | DataType::Autonumber),
        unique: spec.unique,
        decimal_place: spec.decimal_place,
        pick_list_values: spec
            .pick_list_values
            .into_iter()
            .map(|p| match p {
                PickSpec::Plain(s) => PickValue {
                    display_value: s.clone(),
                    actual_value: s,
                    extra: Default::default(),
                },
                PickSpec::Rich {
                    actual_value,
                    display_value,
                    extra,
                } => PickValue {
                    display_value: display_value.unwrap_or_else(|| actual_value.clone()),
                    actual_value,
                    extra,
                },
            })
            .collect(),
        default_value: spec.default_value,
        lookup: spec.lookup,
        lookup_modules: spec.lookup_modules,
        subform_fields,
        searchable: spec.searchable,
        sortable: spec.sortable,
        system: false,
        sequence_number: seq,
        api_name: spec.api_name,
    }
}

fn system_field(module: &str, api_name: &str, label: &str, data_type: DataType, seq: u32) -> Field {
    Field {
        id: stable_id("field", &format!("{module}.{api_name}")),
        api_name: api_name.into(),
        field_label: label.into(),
        data_type,
        length: if data_type == DataType::Datetime {
            120
        } else {
            255
        },
        system_mandatory: false,
        read_only: true,
        unique: false,
        decimal_place: None,
        pick_list_values: vec![],
        default_value: None,
        lookup: None,
        lookup_modules: vec![],
        subform_fields: vec![],
        searchable: true,
        sortable: true,
        system: true,
        sequence_number: seq,
    }
}

impl Catalog {
    /// The built-in standard modules.
    pub fn standard() -> Result<Catalog, String> {
        let mut specs = Vec::new();
        for (file, text) in MODULE_FILES {
            let spec: ModuleSpec =
                serde_json::from_str(text).map_err(|e| format!("data/modules/{file}: {e}"))?;
            specs.push(spec);
        }
        Catalog::from_specs(specs)
    }

    fn from_specs(specs: Vec<ModuleSpec>) -> Result<Catalog, String> {
        let mut modules = Vec::new();
        for spec in specs {
            let name = spec.api_name.clone();
            let mut fields: Vec<Field> = spec
                .fields
                .into_iter()
                .enumerate()
                .map(|(i, f)| build_field(&name, f, i as u32 + 1))
                .collect();
            let n = fields.len() as u32;
            for (i, (api, label, dt)) in [
                ("Created_By", "Created By", DataType::Userlookup),
                ("Modified_By", "Modified By", DataType::Userlookup),
                ("Created_Time", "Created Time", DataType::Datetime),
                ("Modified_Time", "Modified Time", DataType::Datetime),
                ("Tag", "Tag", DataType::Multiselectpicklist),
            ]
            .into_iter()
            .enumerate()
            {
                if !fields.iter().any(|f| f.api_name == api) {
                    fields.push(system_field(&name, api, label, dt, n + i as u32 + 1));
                }
            }
            // Owner is written by clients but maintained by us when absent.
            let by_name = fields
                .iter()
                .enumerate()
                .map(|(i, f)| (f.api_name.to_ascii_lowercase(), i))
                .collect::<HashMap<_, _>>();
            if !by_name.contains_key(&spec.display_field.to_ascii_lowercase()) {
                return Err(format!(
                    "{name}: display_field {} is not a field",
                    spec.display_field
                ));
            }
            modules.push(Module {
                id: stable_id("module", &name),
                module_name: spec.module_name.unwrap_or_else(|| name.clone()),
                api_name: name,
                singular_label: spec.singular_label,
                plural_label: spec.plural_label,
                sequence_number: spec.sequence_number,
                creatable: spec.creatable,
                editable: spec.editable,
                deletable: spec.deletable,
                viewable: spec.viewable,
                convertable: spec.convertable,
                quick_create: spec.quick_create,
                global_search_supported: spec.global_search_supported,
                display_field: spec.display_field,
                duplicate_check_field: spec.duplicate_check_field,
                fields,
                related_lists: spec.related_lists,
                custom_views: spec.custom_views,
                by_name,
            });
        }
        modules.sort_by_key(|m| m.sequence_number);
        let by_name = modules
            .iter()
            .enumerate()
            .map(|(i, m)| (m.api_name.to_ascii_lowercase(), i))
            .collect();
        Ok(Catalog {
            modules: modules.into_iter().map(Arc::new).collect(),
            by_name,
        })
    }

    /// Module by API name; Zoho accepts any letter case in URLs.
    pub fn module(&self, api_name: &str) -> Option<&Arc<Module>> {
        self.by_name
            .get(&api_name.to_ascii_lowercase())
            .map(|&i| &self.modules[i])
    }

    pub fn modules(&self) -> &[Arc<Module>] {
        &self.modules
    }
}
