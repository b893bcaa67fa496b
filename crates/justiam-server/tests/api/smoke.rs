use crate::common::*;

async fn server_starts_and_the_admin_logs_in(backend: Backend) {
    let server = TestServer::start(backend).await;
    let me = server.admin().await.me().await.expect("me");
    assert_eq!(me.user.email, ADMIN_EMAIL);
    assert!(me.user.is_admin);
    assert!(
        me.permissions
            .iter()
            .any(|p| p == "service_accounts.tokens")
    );
}

crate::on_both_databases!(server_starts_and_the_admin_logs_in);
