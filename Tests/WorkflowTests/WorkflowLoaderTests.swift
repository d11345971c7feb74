import Foundation
import JSON
import Testing
@testable import Workflow

@Suite struct WorkflowLoaderTests {
    static let minimal = """
    {"retailerId": "1", "version": "2.1", "name": "ORDER::CC", "entityType": "ORDER", "entitySubtype": "CC",
     "statuses": [{"name": "CREATED", "entityType": "ORDER", "category": "BOOKING"}, {"name": "BOOKED", "entityType": "ORDER"}],
     "rulesets": [RULESETS]}
    """

    static func document(rulesets: String) -> String {
        minimal.replacingOccurrences(of: "RULESETS", with: rulesets)
    }

    @Test func referenceWorkflowsLoad() throws {
        let workflows = try WorkflowLoader.load(directory: WorkflowFixtures.workflowDirectory)
        #expect(workflows.map(\.name).sorted() == ["INVENTORY_CATALOGUE::DEFAULT", "ORDER::HD", "PRODUCT_CATALOGUE::MASTER"])
        let order = try #require(workflows.first { $0.name == "ORDER::HD" })
        #expect(order.retailerId == "1")
        #expect(order.version == "1.0")
        #expect(order.rulesets.count == 11)
        #expect(order.warnings.isEmpty)
        let confirmPick = try #require(order.rulesets.first { $0.name == "ConfirmPick" })
        #expect(confirmPick.type == "FULFILMENT")
        #expect(confirmPick.triggers == ["AWAITING_PICK"])
        #expect(confirmPick.contract == [AttributeRequirement(name: "pickedItems", type: .array)])
        #expect(confirmPick.rules.count == 4)
    }

    @Test func unknownRuleNamesEverything() throws {
        let path = try WorkflowFixtures.writeWorkflow(Self.document(rulesets: """
            {"name": "CREATE", "type": "ORDER", "eventType": "NORMAL", "rules": [
              {"name": "ACME.core.SetState", "props": {"status": "BOOKED"}},
              {"name": "ACME.core.FlyToTheMoon", "props": {}}], "triggers": [{"status": "CREATED"}]}
            """))
        let error = #expect(throws: WorkflowLoadError.self) { try WorkflowLoader.validate(file: path) }
        let message = try #require(error).description
        #expect(message.contains(path))
        #expect(message.contains("workflow ORDER::CC"))
        #expect(message.contains("ruleset CREATE (#1)"))
        #expect(message.contains("rule ACME.core.FlyToTheMoon (#2)"))
        #expect(message.contains("unknown rule"))
        #expect(message.contains("<account>.core.SetState"))
        #expect(message.contains("<account>.core.RaiseException"))
    }

    @Test func otherPluginIsUnknown() throws {
        let path = try WorkflowFixtures.writeWorkflow(Self.document(rulesets: """
            {"name": "CREATE", "type": "ORDER", "rules": [{"name": "ACME.custom.SetState", "props": {"status": "BOOKED"}}]}
            """))
        #expect(throws: WorkflowLoadError.self) { try WorkflowLoader.validate(file: path) }
    }

    @Test func anyAccountPrefixIsAccepted() throws {
        let workflow = try WorkflowFixtures.workflow(Self.document(rulesets: """
            {"name": "CREATE", "type": "ORDER", "rules": [{"name": "OTHER.core.SetState", "props": {"status": "BOOKED"}}]}
            """))
        #expect(workflow.rulesets[0].rules[0].name == "OTHER.core.SetState")
    }

    @Test func missingPropIsAnError() throws {
        let path = try WorkflowFixtures.writeWorkflow(Self.document(rulesets: """
            {"name": "CREATE", "type": "ORDER", "rules": [{"name": "ACME.core.SetState", "props": {}}]}
            """))
        let error = #expect(throws: WorkflowLoadError.self) { try WorkflowLoader.validate(file: path) }
        let message = try #require(error).description
        #expect(message.contains("missing prop status"))
        #expect(message.contains("rule ACME.core.SetState (#1)"))
    }

    @Test func mistypedPropIsAnError() throws {
        let cases = [
            #"{"name": "ACME.core.SetAttributes", "props": {"attributes": "customerRef"}}"#,
            #"{"name": "ACME.core.RequireAttributes", "props": {"attributes": [{"name": "x", "type": "TEXT"}]}}"#,
            #"{"name": "ACME.core.ScheduleEvent", "props": {"eventName": "Later", "delay": "60"}}"#,
            #"{"name": "ACME.core.ScheduleEvent", "props": {"eventName": "Later", "delay": -1}}"#,
            #"{"name": "ACME.core.SendWebhook", "props": {"name": "HOOK", "url": "https://example.test/hook"}}"#,
            #"{"name": "ACME.core.SendWebhook", "props": {"name": "HOOK", "url": "ftp://example.test/hook"}}"#,
            #"{"name": "ACME.core.SendEvent", "props": {"eventName": "X", "rootEntityType": "ORDER"}}"#,
            #"{"name": "ACME.core.AdjustQuantity", "props": {"attribute": "delta", "field": 3}}"#,
        ]
        for rule in cases {
            let path = try WorkflowFixtures.writeWorkflow(Self.document(rulesets: """
                {"name": "CREATE", "type": "ORDER", "rules": [\(rule)]}
                """))
            let error = #expect(throws: WorkflowLoadError.self, "\(rule)") { try WorkflowLoader.validate(file: path) }
            #expect(error?.rule != nil, "\(rule)")
        }
    }

    @Test func malformedTriggerIsAnError() throws {
        for triggers in [#"[{"state": "CREATED"}]"#, #"["CREATED"]"#, #"{"status": "CREATED"}"#, #"[{"status": ""}]"#] {
            let path = try WorkflowFixtures.writeWorkflow(Self.document(rulesets: """
                {"name": "CREATE", "type": "ORDER", "rules": [], "triggers": \(triggers)}
                """))
            let error = #expect(throws: WorkflowLoadError.self, "\(triggers)") { try WorkflowLoader.validate(file: path) }
            #expect(error?.description.contains("triggers") == true, "\(triggers)")
            #expect(error?.ruleset == "CREATE (#1)")
        }
    }

    @Test func invalidEventTypeIsAnError() throws {
        let path = try WorkflowFixtures.writeWorkflow(Self.document(rulesets: """
            {"name": "CREATE", "type": "ORDER", "eventType": "CRON", "rules": []}
            """))
        #expect(throws: WorkflowLoadError.self) { try WorkflowLoader.validate(file: path) }
    }

    @Test func undeclaredStatusIsAWarning() throws {
        let workflow = try WorkflowFixtures.workflow(Self.document(rulesets: """
            {"name": "CREATE", "type": "ORDER", "rules": [{"name": "ACME.core.SetState", "props": {"status": "SHIPPED"}}],
             "triggers": [{"status": "CREATED"}]}
            """))
        #expect(workflow.warnings.count == 1)
        #expect(workflow.warnings.first?.contains("SetState to SHIPPED") == true)
        #expect(workflow.warnings.first?.contains("ruleset CREATE (#1)") == true)
    }

    @Test func unknownPropIsAWarning() throws {
        let workflow = try WorkflowFixtures.workflow(Self.document(rulesets: """
            {"name": "CREATE", "type": "ORDER", "rules": [{"name": "ACME.core.SetState", "props": {"status": "BOOKED", "colour": "red"}}]}
            """))
        #expect(workflow.warnings == ["\(workflow.file): workflow ORDER::CC, ruleset CREATE (#1), rule ACME.core.SetState (#1): unknown prop colour is ignored"])
    }

    @Test func nameMustMatchTypeAndSubtype() throws {
        let text = Self.document(rulesets: "").replacingOccurrences(of: "\"ORDER::CC\"", with: "\"ORDER::HD\"")
        let path = try WorkflowFixtures.writeWorkflow(text)
        let error = #expect(throws: WorkflowLoadError.self) { try WorkflowLoader.validate(file: path) }
        #expect(error?.description.contains("expected ORDER::CC") == true)
    }

    @Test func invalidJSONNamesTheFile() throws {
        let path = try WorkflowFixtures.writeWorkflow(#"{"name": "ORDER::CC", "name": "x"}"#)
        let error = #expect(throws: WorkflowLoadError.self) { try WorkflowLoader.validate(file: path) }
        #expect(error?.file == path)
        #expect(error?.description.contains("invalid JSON") == true)
    }

    @Test func duplicateWorkflowIsAnError() throws {
        let directory = WorkflowFixtures.temporaryDirectory()
        _ = try WorkflowFixtures.writeWorkflow(Self.document(rulesets: ""), name: "a.json", directory: directory)
        _ = try WorkflowFixtures.writeWorkflow(Self.document(rulesets: ""), name: "b.json", directory: directory)
        let error = #expect(throws: WorkflowLoadError.self) { try WorkflowLoader.load(directory: directory) }
        #expect(error?.description.contains("already has workflow ORDER::CC") == true)
    }

    @Test func missingDirectoryIsAnError() {
        #expect(throws: WorkflowLoadError.self) { try WorkflowLoader.load(directory: "/nonexistent/workflows") }
    }

    @Test func webhookURLParsing() throws {
        let url = try WebhookURL(parsing: "http://127.0.0.1:18090/hooks/order-delivered?x=1")
        #expect(url.host == "127.0.0.1")
        #expect(url.port == 18090)
        #expect(url.target == "/hooks/order-delivered?x=1")
        let bare = try WebhookURL(parsing: "http://[::1]")
        #expect(bare.host == "::1")
        #expect(bare.port == 80)
        #expect(bare.target == "/")
        for bad in ["https://a/b", "http://", "http://a:0/", "http://a:99999/", "http://a:+5/", "http://u@a/", "http://a/b c"] {
            #expect(throws: WebhookURLError.self, "\(bad)") { try WebhookURL(parsing: bad) }
        }
    }
}
