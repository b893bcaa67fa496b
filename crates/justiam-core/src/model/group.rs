//! Groups of users.

use uuid::Uuid;

use crate::time::{Millis, to_datetime};

#[derive(Debug, Clone)]
pub struct Group {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub member_count: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl Group {
    pub fn to_wire(&self) -> justiam_types::Group {
        justiam_types::Group {
            id: self.id,
            name: self.name.clone(),
            description: self.description.clone(),
            member_count: self.member_count.max(0) as u64,
            created_at: to_datetime(self.created_at),
            updated_at: to_datetime(self.updated_at),
        }
    }
}
