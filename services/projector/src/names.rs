//! Codes interned as small integers, so the fold's maps are keyed by numbers rather than strings.

use rustc_hash::FxHashMap as HashMap;

use serde::{Deserialize, Serialize};

/// An interned code: an organisation, scope, metric or collection.
pub type Id = u32;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Names {
    ids: HashMap<String, Id>,
    names: Vec<String>,
}

impl Names {
    /// The id of `name`, interning it if new.
    pub fn id(&mut self, name: &str) -> Id {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = Id::try_from(self.names.len()).unwrap_or(Id::MAX);
        self.names.push(name.to_owned());
        self.ids.insert(name.to_owned(), id);
        id
    }

    /// A new id with no name, that no look-up by name reaches: for figures the fold derives (plans
    /// in force, returns received and missing), whose meaning is kept beside them.
    pub fn unnamed(&mut self) -> Id {
        let id = Id::try_from(self.names.len()).unwrap_or(Id::MAX);
        self.names.push(String::new());
        id
    }

    /// The id of `name` if it was ever interned.
    pub fn get(&self, name: &str) -> Option<Id> {
        self.ids.get(name).copied()
    }

    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn name(&self, id: Id) -> &str {
        self.names.get(id as usize).map_or("", String::as_str)
    }
}
