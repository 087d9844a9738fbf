//! What a plain value means when it crosses to the web view: an amount of US dollars, a price
//! per token, or the id of a conversation, column, turn or message. Rust keeps them as
//! `Decimal` and `i64` (SQLite's types); TypeScript gets a *branded* type for each
//! (`type Money = string & { readonly __brand: "Money" }`), so the UI cannot pass a conversation
//! id where a message id is expected, or any string where an amount is.
//!
//! - IPC structs mark a field with `#[ts(as = "crate::brands::ts::Money")]` (or `Option<…>`,
//!   `Vec<…>`): ts-rs writes `Money` and imports it from `Money.ts`, which [`ts`] declares.
//! - Command signatures use the aliases below (`conversation_id: ConversationId`): the commands'
//!   generator (`src-tauri/commands/bindings.rs`) names the TypeScript type after them.
//!
//! Owns no behaviour: nothing here converts or checks a value.

/// The id of a conversation (`conversations.id`).
pub type ConversationId = i64;
/// The id of a column of a conversation (`columns.id`).
pub type ColumnId = i64;
/// The id of a turn: one prompt sent to the columns (`turns.id`).
pub type TurnId = i64;
/// The id of a message: an answer in a column (`messages.id`).
pub type MessageId = i64;

/// The TypeScript side of the brands: marker types that only exist for ts-rs.
pub mod ts {
    use std::path::Path;
    use ts_rs::TS;

    macro_rules! brand {
        ($($(#[doc = $doc:literal])* $name:ident: $base:literal;)*) => {$(
            $(#[doc = $doc])*
            pub struct $name;

            impl TS for $name {
                type WithoutGenerics = Self;
                const DOCS: Option<&'static str> = Some(concat!("/**\n", $(" *", $doc, "\n",)* " */\n"));

                fn name() -> String {
                    stringify!($name).to_owned()
                }
                fn inline() -> String {
                    Self::name()
                }
                fn inline_flattened() -> String {
                    panic!("{} cannot be flattened", stringify!($name))
                }
                fn decl() -> String {
                    format!("type {} = {} & {{ readonly __brand: \"{}\" }};", stringify!($name), $base, stringify!($name))
                }
                fn decl_concrete() -> String {
                    Self::decl()
                }
                fn output_path() -> Option<&'static Path> {
                    Some(Path::new(concat!(stringify!($name), ".ts")))
                }
            }
        )*

        #[cfg(test)]
        #[test]
        fn export_bindings_brands() {
            $(<$name as TS>::export_all().expect(stringify!($name));)*
        }
        };
    }

    brand! {
        /// An exact amount of US dollars as decimal text ("0.000042"), never rounded: format it
        /// only for display (`lib/format.ts`).
        Money: "string";
        /// A price in US dollars per token as exact decimal text ("0.0000025").
        UsdPerToken: "string";
        /// The id of a conversation.
        ConversationId: "number";
        /// The id of a column of a conversation.
        ColumnId: "number";
        /// The id of a turn: one prompt sent to the columns.
        TurnId: "number";
        /// The id of a message: an answer in a column.
        MessageId: "number";
    }
}
