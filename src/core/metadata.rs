//! Per-row metadata columns (strings; numeric interpretation is up to the consumer).

use serde::{Deserialize, Serialize};

use super::CoreError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetaColumn {
    pub name: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    columns: Vec<MetaColumn>,
}

impl Metadata {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    pub fn columns(&self) -> &[MetaColumn] {
        &self.columns
    }

    pub fn column(&self, name: &str) -> Option<&MetaColumn> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Adds a column; it must have one value per row.
    pub fn push(&mut self, column: MetaColumn, rows: usize) -> Result<(), CoreError> {
        if column.values.len() != rows {
            return Err(CoreError::MetadataLen {
                name: column.name,
                len: column.values.len(),
                rows,
            });
        }
        self.columns.push(column);
        Ok(())
    }

    /// Checks every column against a row count.
    pub fn check_rows(&self, rows: usize) -> Result<(), CoreError> {
        for c in &self.columns {
            if c.values.len() != rows {
                return Err(CoreError::MetadataLen {
                    name: c.name.clone(),
                    len: c.values.len(),
                    rows,
                });
            }
        }
        Ok(())
    }

    pub fn retain_rows(&self, keep: &[bool]) -> Metadata {
        Metadata {
            columns: self
                .columns
                .iter()
                .map(|c| MetaColumn {
                    name: c.name.clone(),
                    values: c
                        .values
                        .iter()
                        .zip(keep)
                        .filter(|(_, k)| **k)
                        .map(|(v, _)| v.clone())
                        .collect(),
                })
                .collect(),
        }
    }
}
