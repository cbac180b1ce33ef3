//! The app's settings in the `settings` table, one JSON value per field of [`Settings`].

use rusqlite::params;
use serde_json::{Map, Value};
use softphone_core::settings::Settings;

use crate::Store;
use crate::error::StoreError;

impl Store {
    /// The stored settings. A setting never saved, or stored in a form this version cannot
    /// read (a newer version's value, a damaged row), takes its default; the others are kept.
    pub fn settings(&self) -> Result<Settings, StoreError> {
        let defaults = match serde_json::to_value(Settings::default()) {
            Ok(Value::Object(fields)) => fields,
            _ => return Err(StoreError::Internal("the default settings are not a JSON object".into())),
        };
        let mut statement = self.conn.prepare_cached("SELECT key, value FROM settings")?;
        let rows = statement.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))?;
        let mut fields = defaults.clone();
        for row in rows {
            let (key, text) = row?;
            if !defaults.contains_key(&key) {
                continue;
            }
            let Ok(value) = serde_json::from_str::<Value>(&text) else { continue };
            // Each stored value must read on its own, so one bad value costs only itself.
            let mut single = defaults.clone();
            single.insert(key.clone(), value.clone());
            if serde_json::from_value::<Settings>(Value::Object(single)).is_ok() {
                fields.insert(key, value);
            }
        }
        serde_json::from_value(Value::Object(fields))
            .map_err(|e| StoreError::Internal(format!("stored settings do not combine ({e})")))
    }

    /// Validates and stores every setting, in one transaction. Keys this version does not know
    /// stay as they are.
    pub fn save_settings(&mut self, settings: &Settings) -> Result<(), StoreError> {
        settings.validate().map_err(|e| StoreError::InvalidInput(e.to_string()))?;
        let fields: Map<String, Value> = match serde_json::to_value(settings) {
            Ok(Value::Object(fields)) => fields,
            _ => return Err(StoreError::Internal("settings are not a JSON object".into())),
        };
        let tx = self.conn.transaction()?;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?;
            for (key, value) in &fields {
                upsert.execute(params![key, value.to_string()])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}
