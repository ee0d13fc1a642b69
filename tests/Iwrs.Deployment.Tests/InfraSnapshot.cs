using System.Text.Json.Nodes;

namespace Iwrs.Deployment.Tests;

/// <summary>
/// The resources a compiled template (ARM JSON) would deploy with infra/main.bicepparam, as Bicep's offline
/// <c>bicep snapshot</c> predicts them: modules flattened, parameters and names evaluated; values only known while
/// deploying stay expressions (<see cref="ArmExpression"/>).
/// </summary>
public sealed class InfraSnapshot
{
    public const string SubscriptionId = "00000000-0000-0000-0000-0000000000aa";
    public const string TenantId = "00000000-0000-0000-0000-0000000000bb";
    public const string Location = "swedencentral";

    private InfraSnapshot(JsonArray resources, JsonObject outputs)
    {
        Resources = resources.Select(r => r!.AsObject()).ToList();
        Outputs = outputs;
    }

    public IReadOnlyList<JsonObject> Resources { get; }

    public JsonObject Outputs { get; }

    /// <summary>Compiles infra/main.bicep to ARM JSON (what the contract and its mutations start from).</summary>
    public static JsonObject CompileMain()
    {
        var result = BicepCli.Run(BicepCli.InfraDirectory, "build", "main.bicep", "--stdout");
        Assert.True(result.ExitCode == 0 && result.StandardError.Length == 0, result.Output);
        return JsonNode.Parse(result.StandardOutput)!.AsObject();
    }

    /// <summary>Predicts the deployment of <paramref name="template"/> with the example parameters of infra/main.bicepparam.</summary>
    public static InfraSnapshot Predict(JsonObject template)
    {
        var directory = Directory.CreateTempSubdirectory("iwrs-snapshot-");
        try
        {
            File.WriteAllText(Path.Combine(directory.FullName, "main.json"), template.ToJsonString());
            var parameters = File.ReadAllText(Path.Combine(BicepCli.InfraDirectory, "main.bicepparam"));
            Assert.Contains("using 'main.bicep'", parameters, StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(directory.FullName, "main.bicepparam"), parameters.Replace("using 'main.bicep'", "using 'main.json'", StringComparison.Ordinal));
            File.Copy(Path.Combine(BicepCli.InfraDirectory, "bicepconfig.json"), Path.Combine(directory.FullName, "bicepconfig.json"));

            var result = BicepCli.Run(
                directory.FullName,
                "snapshot", "main.bicepparam", "--mode", "overwrite",
                "--subscription-id", SubscriptionId, "--tenant-id", TenantId, "--location", Location, "--deployment-name", "iwrs");
            Assert.True(result.ExitCode == 0, result.Output);
            var snapshot = JsonNode.Parse(File.ReadAllText(Path.Combine(directory.FullName, "main.snapshot.json")))!.AsObject();
            Assert.Empty(snapshot["diagnostics"]!.AsArray());
            return new InfraSnapshot(snapshot["predictedResources"]!.AsArray(), snapshot["outputs"]!.AsObject());
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    public IEnumerable<JsonObject> OfType(string type) =>
        Resources.Where(r => string.Equals((string?)r["type"], type, StringComparison.OrdinalIgnoreCase));
}
