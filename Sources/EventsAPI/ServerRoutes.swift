import EventStore
import HTTP
import Telemetry
import Workflow

/// Assembles every route of the server into one router: OAuth, events (async and sync),
/// entities, operations and the OpenAPI document, with the bearer-token head filter on `/api/` routes except the document.
/// `events-server serve` and the tests that check the OpenAPI document both use it, so they
/// see the same routes.
public enum ServerRoutes {
    /// The parts the routes need.
    public struct Components: Sendable {
        public var store: EventStore
        public var authenticator: Authenticator
        /// Executes `/event/sync` events and learns of `/event/async` ones.
        public var engine: WorkflowEngine
        public var readiness: OperationsReadiness
        public var metrics: MetricsRegistry

        public init(store: EventStore, authenticator: Authenticator, engine: WorkflowEngine,
                    readiness: OperationsReadiness, metrics: MetricsRegistry = .shared) {
            self.store = store
            self.authenticator = authenticator
            self.engine = engine
            self.readiness = readiness
            self.metrics = metrics
        }
    }

    /// Route patterns under `/api/` that need no bearer token.
    public static let publicPatterns: Set<String> = [OpenAPIRoutes.documentPath]

    public static func makeRouter(_ components: Components) -> Router {
        var router = Router()
        OAuthRoutes(authenticator: components.authenticator).register(into: &router)
        EventRoutes(store: components.store, authenticator: components.authenticator,
                    listener: components.engine).register(into: &router)
        SyncRoutes(engine: components.engine, authenticator: components.authenticator).register(into: &router)
        EntityRoutes(store: components.store, authenticator: components.authenticator).register(into: &router)
        OperationsRoutes(readiness: components.readiness, metrics: components.metrics).register(into: &router)
        OpenAPIRoutes().register(into: &router)
        components.authenticator.install(into: &router, publicPatterns: publicPatterns)
        return router
    }
}
