//! A frame plus the roles of its columns (timestamp, entity, label), the unit that flows
//! between steps. Stored as Parquet, with the roles in a JSON side-car.

use polars::prelude::*;
use serde::{Deserialize, Serialize};

/// Which columns play which part; declared by `load`, carried through every later step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Roles {
    pub timestamp: Option<String>,
    pub entity: Option<String>,
    pub label: Option<String>,
}

impl Roles {
    /// Columns that are not features: roles are never imputed, scaled or checked for outliers.
    pub fn is_role(&self, column: &str) -> bool {
        [&self.timestamp, &self.entity, &self.label]
            .iter()
            .any(|r| r.as_deref() == Some(column))
    }
}

/// A table stored as an artifact, as later steps, the step cache and `--resume` find it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableRef {
    pub name: String,
    pub uri: String,
    pub sha256: String,
    pub roles: Roles,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub frame: DataFrame,
    pub roles: Roles,
}

impl Table {
    /// Parquet bytes (zstd) of the frame.
    pub fn to_parquet(&self) -> PolarsResult<Vec<u8>> {
        let mut buf = Vec::new();
        let mut frame = self.frame.clone();
        ParquetWriter::new(&mut buf)
            .with_compression(ParquetCompression::Zstd(None))
            .finish(&mut frame)?;
        Ok(buf)
    }

    pub fn from_parquet(bytes: &[u8], roles: Roles) -> PolarsResult<Table> {
        let frame = ParquetReader::new(std::io::Cursor::new(bytes)).finish()?;
        Ok(Table { frame, roles })
    }
}

/// Names of the numeric columns that are features (not roles).
pub fn numeric_features(frame: &DataFrame, roles: &Roles) -> Vec<String> {
    frame
        .columns()
        .iter()
        .filter(|c| c.dtype().is_primitive_numeric() && !roles.is_role(c.name()))
        .map(|c| c.name().to_string())
        .collect()
}
