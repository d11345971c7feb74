// Times our JSONParser against Foundation's JSONSerialization on one typical event body.
// Run through bench/json.sh, which builds it in release mode.
import Foundation
import JSON

let body = Array(#"{"name":"ConfirmPick","retailerId":"1","entityType":"FULFILMENT","entityRef":"F-5512","entitySubtype":"HD","rootEntityType":"ORDER","rootEntityRef":"HD-1234","attributes":{"pickedItems":[{"skuRef":"SKU-1","quantity":2},{"skuRef":"SKU-RED-M","quantity":1}],"pickedBy":"WMS","note":"left at the \"front\" door","weight":12.75}}"#.utf8)
let data = Data(body)
let iterations = 200_000

func measure(_ label: String, _ work: () throws -> Void) rethrows {
    for _ in 0..<5_000 { try work() }
    let start = DispatchTime.now().uptimeNanoseconds
    for _ in 0..<iterations { try work() }
    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    print("\(label): \(String(format: "%.2f", elapsed / Double(iterations) * 1e6)) µs per parse, \(Int(Double(iterations) / elapsed)) parses/s (\(body.count) bytes)")
}

let parser = JSONParser()
try measure("JSONParser") { _ = try parser.parse(body) }
try measure("JSONSerialization") { _ = try JSONSerialization.jsonObject(with: data) }
try measure("JSONParser + JSONWriter.encode") { _ = JSONWriter.encode(try parser.parse(body)) }
