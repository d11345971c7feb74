import Foundation
import JSON

/// Loads and checks workflow files (`*.json` in Fluent's format).
public enum WorkflowLoader {
    /// Loads every `*.json` file of `directory`, in file name order.
    ///
    /// Throws the first `WorkflowLoadError` met: an unreadable or invalid file, an unknown rule,
    /// a missing or mistyped prop, a malformed trigger, or two workflows for the same retailer,
    /// root type and subtype. Warnings are kept on each workflow's `warnings`.
    public static func load(directory: String) throws(WorkflowLoadError) -> [WorkflowDefinition] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw WorkflowLoadError(file: directory, message: "cannot list the workflow directory: \(error.localizedDescription)")
        }

        var workflows: [WorkflowDefinition] = []
        for name in names.sorted() where name.hasSuffix(".json") {
            let path = (directory as NSString).appendingPathComponent(name)
            let workflow = try validate(file: path)
            if let existing = workflows.first(where: {
                $0.retailerId == workflow.retailerId && $0.entityType == workflow.entityType && $0.entitySubtype == workflow.entitySubtype
            }) {
                throw WorkflowLoadError(file: path, workflow: workflow.name,
                                        message: "retailer \(workflow.retailerId) already has workflow \(existing.name) in \(existing.file); keep one file per retailer, root type and subtype")
            }
            workflows.append(workflow)
        }
        return workflows
    }

    /// Loads and checks one workflow file without starting anything; used by the CLI's
    /// validate subcommand. Returns the workflow, whose `warnings` list the non-fatal problems.
    public static func validate(file path: String) throws(WorkflowLoadError) -> WorkflowDefinition {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw WorkflowLoadError(file: path, message: "cannot read the file: check that it exists and is readable")
        }
        let document: JSONValue
        do {
            document = try JSONParser().parse(Array(data))
        } catch {
            throw WorkflowLoadError(file: path, message: "invalid JSON: \(error)")
        }
        return try WorkflowDecoder(file: path).decode(document)
    }
}
