use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(super) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("blog_post")
                    .if_not_exists()
                    .col(
                        ColumnDef::new("id")
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new("title").string_len(200).not_null())
                    .col(
                        ColumnDef::new("slug")
                            .string_len(200)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new("body").text().not_null())
                    .col(ColumnDef::new("published").boolean().not_null())
                    .col(
                        ColumnDef::new("created")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        // The default ordering, `-created`, is served from this index.
        manager
            .create_index(
                Index::create()
                    .name("blog_post_created_id")
                    .table("blog_post")
                    .col("created")
                    .col("id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("blog_post").to_owned())
            .await
    }
}
