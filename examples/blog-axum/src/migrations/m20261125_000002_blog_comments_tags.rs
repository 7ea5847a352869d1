//! Comments and tags: `blog_comment`, `blog_tag` and the join table `blog_post_tag`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_query::{ForeignKey, ForeignKeyAction};

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

fn id() -> ColumnDef {
    ColumnDef::new("id")
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

/// `from_table.from_col` references `to_table.id`; deleting the row referenced deletes
/// the rows referencing it.
fn cascade(
    from_table: &'static str,
    from_col: &'static str,
    to_table: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("{from_table}_{from_col}_fk_{to_table}_id"))
        .from(from_table, from_col)
        .to(to_table, "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("blog_comment")
                    .if_not_exists()
                    .col(id())
                    .col(ColumnDef::new("post_id").big_integer().not_null())
                    .col(ColumnDef::new("author").string_len(150).not_null())
                    .col(ColumnDef::new("body").text().not_null())
                    .col(
                        ColumnDef::new("created")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new("approved").boolean().not_null())
                    .foreign_key(&mut cascade("blog_comment", "post_id", "blog_post"))
                    .to_owned(),
            )
            .await?;
        // A post's page reads its approved comments in order from this index.
        manager
            .create_index(
                Index::create()
                    .name("blog_comment_post_id_approved_created")
                    .table("blog_comment")
                    .col("post_id")
                    .col("approved")
                    .col("created")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("blog_tag")
                    .if_not_exists()
                    .col(id())
                    .col(
                        ColumnDef::new("name")
                            .string_len(100)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new("slug")
                            .string_len(100)
                            .not_null()
                            .unique_key(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("blog_post_tag")
                    .if_not_exists()
                    .col(id())
                    .col(ColumnDef::new("post_id").big_integer().not_null())
                    .col(ColumnDef::new("tag_id").big_integer().not_null())
                    // Each pair once; the unique index also serves "the post's tags".
                    .index(
                        Index::create()
                            .name("blog_post_tag_post_id_tag_id_uniq")
                            .col("post_id")
                            .col("tag_id")
                            .unique(),
                    )
                    .foreign_key(&mut cascade("blog_post_tag", "post_id", "blog_post"))
                    .foreign_key(&mut cascade("blog_post_tag", "tag_id", "blog_tag"))
                    .to_owned(),
            )
            .await?;
        // "The tag's posts".
        manager
            .create_index(
                Index::create()
                    .name("blog_post_tag_tag_id")
                    .table("blog_post_tag")
                    .col("tag_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["blog_post_tag", "blog_tag", "blog_comment"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
