import EventStore
import Foundation
import JSON
import Testing

/// Runs a scenario file of `Tests/Scenarios` step by step over HTTP and checks each step's
/// expected event status, entity statuses and entity attributes.
struct ScenarioRunner {
    enum Mode { case sync, async }

    /// One executed step: the event id and the status it ended with.
    struct Step {
        var eventId: String
        var name: String
        var status: String
        var errorMessage: String?
    }

    let server: ScenarioServer
    let mode: Mode

    static func load(_ name: String) throws -> JSONValue {
        let path = ScenarioServer.repositoryRoot + "/Tests/Scenarios/" + name
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TestClientError("cannot read scenario \(path)")
        }
        return try JSONParser().parse(Array(data))
    }

    func run(_ name: String) throws -> [Step] {
        let scenario = try ScenarioRunner.load(name)
        var steps: [Step] = []
        for (index, step) in (scenario["steps"]?.arrayValue ?? []).enumerated() {
            let event = try #require(step["event"])
            let expect = try #require(step["expect"])
            let expectedStatus = try #require(expect["eventStatus"]?.stringValue)
            let label = "\(name) step \(index + 1) \(event["name"]?.stringValue ?? "")"

            let result = try execute(JSONWriter.encodeString(event), label: label)
            #expect(result.status == expectedStatus, "\(label): \(result.errorMessage ?? "")")
            if expectedStatus == EventStatus.failed && mode == .sync {
                #expect(result.errorMessage?.isEmpty == false, "\(label)")
            }
            try checkEntities(expect, label: label)
            steps.append(result)
        }
        return steps
    }

    private func execute(_ body: String, label: String) throws -> Step {
        switch mode {
        case .sync:
            let response = try server.postSync(body)
            let json = try response.json()
            let status = json["eventStatus"]?.stringValue ?? "none"
            #expect(response.status == (status == EventStatus.complete ? 200 : 400), "\(label): \(response.text)")
            #expect(json["entityId"]?.stringValue != nil, "\(label): \(response.text)")
            return Step(eventId: json["eventId"]?.stringValue ?? "", name: "", status: status,
                        errorMessage: json["errorMessage"]?.stringValue)
        case .async:
            let id = try server.postAsync(body)
            let event = try server.waitForEvent(id)
            return Step(eventId: id, name: event["name"]?.stringValue ?? "", status: event["eventStatus"]?.stringValue ?? "none",
                        errorMessage: nil)
        }
    }

    private func checkEntities(_ expect: JSONValue, label: String) throws {
        for (key, status) in expect["entities"]?.objectValue ?? JSONObject() {
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            let entity = try server.entity(parts[0], parts[1])
            #expect(entity?["status"] == status, "\(label): \(key)")
        }
        for (key, attributes) in expect["entityAttributes"]?.objectValue ?? JSONObject() {
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            let entity = try server.entity(parts[0], parts[1])
            for (name, value) in attributes.objectValue ?? JSONObject() {
                #expect(entity?["attributes"]?[name] == value, "\(label): \(key).\(name)")
            }
        }
    }
}
