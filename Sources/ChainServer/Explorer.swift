import Hummingbird

/// The web explorer: one page of HTML, CSS and JavaScript compiled into the binary, served
/// at `/` and at every explorer URL (`/address/…`, `/tx/…`, `/block/…`, `/between/…/…`,
/// `/stats`), where its script reads the path and asks the REST API.
enum Explorer {
    static func add(to router: Router<BasicRequestContext>) {
        for path in ["/", "/address/:a", "/tx/:t", "/block/:b", "/between/:a/:b", "/stats"] {
            router.get(RouterPath(path)) { _, _ in ChainServer.text(page, type: "text/html; charset=utf-8") }
        }
    }
}
