using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Iwrs.Functions;
using Iwrs.Testing;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Iwrs.Deployment.Tests;

/// <summary>
/// What the app needs from the infrastructure, checked on a predicted deployment (<see cref="InfraSnapshot"/>):
/// its settings pass the app's own options validation as deployed, the timers' schedules are set, secrets are Key
/// Vault references, the identity the app uses holds its data roles on the right resources, and the runtime is the
/// project's. <see cref="Check"/> lists every breach, so a test can show it names what a changed template dropped.
/// </summary>
public static class InfraContract
{
    /// <summary>Built-in role definition ids and the resource type each must be scoped to.</summary>
    public static readonly IReadOnlyList<(string Role, string Id, string ScopeType)> Roles =
    [
        ("Storage Table Data Contributor", "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3", "Microsoft.Storage/storageAccounts"),
        ("Storage Blob Data Owner", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b", "Microsoft.Storage/storageAccounts"),
        ("Key Vault Secrets User", "4633458b-17de-408a-b874-0445c86b69e6", "Microsoft.KeyVault/vaults"),
        ("Monitoring Metrics Publisher", "3913510d-42f4-4e42-8a64-420c390055eb", "Microsoft.Insights/components"),
    ];

    /// <summary>Secrets and the Key Vault secret each setting must reference (shared settings contract).</summary>
    public static readonly IReadOnlyDictionary<string, string> SecretSettings = new Dictionary<string, string>
    {
        ["Twilio__AuthToken"] = "twilio-auth-token",
        ["Audit__SigningKey"] = "audit-signing-key",
    };

    /// <summary>
    /// Required by the deployment rather than by a validator: the user-assigned identity is the only one the app has,
    /// so the SDK clients and the host must be told its client id; a new deployment needs its first administrator;
    /// the SMS webhooks answer 403 to everything without the public URLs Twilio signs (the app starts without them,
    /// as a deployment with SMS off would). Storage__BlobEndpoint and Audit__SigningKey are required by the app's own
    /// validation, AuditCheckpointSchedule by its timer.
    /// </summary>
    public static readonly IReadOnlyList<string> DeploymentRequiredSettings =
    [
        "Sms__WebhookUrl",
        "Sms__StatusCallbackUrl",
        "Storage__ManagedIdentityClientId",
        "AzureWebJobsStorage__accountName",
        "AzureWebJobsStorage__credential",
        "AzureWebJobsStorage__clientId",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
        "Auth__BootstrapAdministrators__0",
        "Auth__Development__Enabled",
    ];

    /// <summary>The worker runtime the project runs on: local.settings.sample.json's FUNCTIONS_WORKER_RUNTIME.</summary>
    public static string ProjectWorkerRuntime { get; } =
        (string)JsonNode.Parse(File.ReadAllText(Path.Combine(AzuriteServer.RepositoryRoot(), "local.settings.sample.json")))!["Values"]!["FUNCTIONS_WORKER_RUNTIME"]!;

    /// <summary>The .NET version the Functions app is built for ("10.0"), from its assembly.</summary>
    public static string ProjectRuntimeVersion { get; } =
        typeof(IwrsApp).Assembly.GetCustomAttribute<System.Runtime.Versioning.TargetFrameworkAttribute>()!.FrameworkName.Split("Version=v")[1];

    /// <summary>App settings named in %…% by the timer triggers: the Functions host cannot index a timer without its schedule.</summary>
    public static IReadOnlyList<string> TimerScheduleSettings { get; } =
        typeof(IwrsApp).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods())
            .SelectMany(m => m.GetParameters())
            .Select(p => p.GetCustomAttribute<TimerTriggerAttribute>()?.Schedule)
            .OfType<string>()
            .Where(s => s.StartsWith('%') && s.EndsWith('%'))
            .Select(s => s.Trim('%'))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToList();

    public static IReadOnlyList<string> Check(InfraSnapshot snapshot)
    {
        var problems = new List<string>();
        var site = Single(snapshot, "Microsoft.Web/sites", problems);
        var settingsResource = Single(snapshot, "Microsoft.Web/sites/config", problems, r => ((string)r["name"]!).EndsWith("/appsettings", StringComparison.Ordinal));
        var storage = Single(snapshot, "Microsoft.Storage/storageAccounts", problems);
        var vault = Single(snapshot, "Microsoft.KeyVault/vaults", problems);
        var insights = Single(snapshot, "Microsoft.Insights/components", problems);
        if (site is null || settingsResource is null || storage is null || vault is null || insights is null)
        {
            return problems;
        }

        var identityIds = site["identity"]?["userAssignedIdentities"]?.AsObject().Select(p => p.Key).ToList() ?? [];
        if ((string?)site["identity"]?["type"] != "UserAssigned" || identityIds.Count != 1)
        {
            problems.Add("the app must have exactly one identity, user-assigned");
            return problems;
        }

        var identityId = identityIds[0];
        CheckSite(site, identityId, storage, problems);
        CheckResources(storage, vault, insights, problems);
        CheckRoles(snapshot, identityId, storage, vault, insights, problems);

        var settings = settingsResource["properties"]!.AsObject().ToDictionary(p => p.Key, p => ArmExpression.Evaluate((string)p.Value!), StringComparer.Ordinal);
        CheckSettings(settings, identityId, site, snapshot, storage, vault, problems);
        return problems;
    }

    /// <summary>The app settings as the app would read them once deployed: runtime values and secrets by stand-ins.</summary>
    public static Dictionary<string, string?> DeployedConfiguration(InfraSnapshot snapshot)
    {
        var site = snapshot.OfType("Microsoft.Web/sites").Single();
        var settings = snapshot.OfType("Microsoft.Web/sites/config").Single()["properties"]!.AsObject();
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in settings)
        {
            var text = ArmExpression.AsText(ArmExpression.Evaluate((string)value!), StandIn);
            var secret = SecretSettings.TryGetValue(name, out var secretName) && text.Contains(secretName, StringComparison.Ordinal)
                ? SecretStandIn(secretName)
                : text;
            values[name.Replace("__", ":", StringComparison.Ordinal)] = secret;
        }

        // What the platform sets on every instance (AuthOptionsValidator.DeployedMarkers).
        values["WEBSITE_SITE_NAME"] = (string)site["name"]!;
        values["WEBSITE_HOSTNAME"] = (string)site["name"]! + ".azurewebsites.net";
        return values;
    }

    /// <summary>Runs every options validator the app runs at start (ValidateOnStart), in Production; the errors, or none.</summary>
    public static IReadOnlyList<string> ValidationErrors(IReadOnlyDictionary<string, string?> configuration)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = Environments.Production });
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.Services.AddIwrs(builder.Configuration);
        using var host = builder.Build();
        try
        {
            host.Services.GetRequiredService<IStartupValidator>().Validate();
            return [];
        }
        catch (OptionsValidationException e)
        {
            return e.Failures.ToList();
        }
        catch (AggregateException e)
        {
            return e.InnerExceptions.OfType<OptionsValidationException>().SelectMany(f => f.Failures).ToList();
        }
    }

    /// <summary>Stand-ins for values only Azure knows at deployment time (identity ids, the host name, the connection string).</summary>
    public static string StandIn(RuntimeValue value) => value.Property switch
    {
        "clientId" => "11111111-1111-1111-1111-111111111111",
        "principalId" => "22222222-2222-2222-2222-222222222222",
        "defaultHostName" => value.ResourceId[(value.ResourceId.LastIndexOf('/') + 1)..] + ".azurewebsites.net",
        "ConnectionString" => "InstrumentationKey=33333333-3333-3333-3333-333333333333;IngestionEndpoint=https://swedencentral-0.in.applicationinsights.azure.com/",
        _ => throw new NotSupportedException($"no stand-in for reference(...).{value.Property}"),
    };

    /// <summary>What the operator puts into Key Vault (README, Deployment): any token, and a PKCS#8 PEM ECDSA P-256 key.</summary>
    private static string SecretStandIn(string secretName)
    {
        if (secretName != "audit-signing-key")
        {
            return "stand-in-" + secretName;
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return key.ExportPkcs8PrivateKeyPem();
    }

    private static void CheckSite(JsonObject site, string identityId, JsonObject storage, List<string> problems)
    {
        var p = site["properties"]!;
        Expect(problems, (string?)site["kind"] == "functionapp,linux", "the app must be a Linux function app");
        Expect(problems, (bool?)p["httpsOnly"] == true, "httpsOnly must be true");
        Expect(problems, (string?)p["siteConfig"]?["minTlsVersion"] == "1.2", "siteConfig.minTlsVersion must be 1.2");
        Expect(problems, (string?)p["keyVaultReferenceIdentity"] == identityId, "keyVaultReferenceIdentity must be the app's user-assigned identity");

        var config = p["functionAppConfig"];
        Expect(problems, (string?)config?["runtime"]?["name"] == ProjectWorkerRuntime, $"functionAppConfig.runtime.name must be the project's worker runtime '{ProjectWorkerRuntime}'");
        Expect(problems, (string?)config?["runtime"]?["version"] == ProjectRuntimeVersion, $"functionAppConfig.runtime.version must be the project's .NET version '{ProjectRuntimeVersion}'");
        var deployment = config?["deployment"]?["storage"];
        Expect(problems, (string?)deployment?["authentication"]?["type"] == "UserAssignedIdentity"
            && (string?)deployment["authentication"]?["userAssignedIdentityResourceId"] == identityId, "the package must be read with the app's identity");
        var packageUrl = deployment?["value"] is JsonValue v ? ArmExpression.AsText(ArmExpression.Evaluate((string)v!), StandIn) : string.Empty;
        Expect(problems, packageUrl.StartsWith($"https://{storage["name"]}.blob.core.windows.net/", StringComparison.Ordinal), "the package container must be in the app's storage account");
    }

    private static void CheckResources(JsonObject storage, JsonObject vault, JsonObject insights, List<string> problems)
    {
        Expect(problems, (bool?)storage["properties"]?["allowSharedKeyAccess"] == false, "storage: allowSharedKeyAccess must be false");
        Expect(problems, (bool?)storage["properties"]?["allowBlobPublicAccess"] == false, "storage: allowBlobPublicAccess must be false");
        Expect(problems, (bool?)vault["properties"]?["enableRbacAuthorization"] == true, "Key Vault must be in RBAC mode");
        Expect(problems, (bool?)vault["properties"]?["enablePurgeProtection"] == true, "Key Vault must have purge protection");
        Expect(problems, (bool?)insights["properties"]?["DisableLocalAuth"] == true, "Application Insights must have local authentication disabled");
    }

    private static void CheckRoles(InfraSnapshot snapshot, string identityId, JsonObject storage, JsonObject vault, JsonObject insights, List<string> problems)
    {
        var scopes = new Dictionary<string, string>
        {
            ["Microsoft.Storage/storageAccounts"] = (string)storage["id"]!,
            ["Microsoft.KeyVault/vaults"] = (string)vault["id"]!,
            ["Microsoft.Insights/components"] = (string)insights["id"]!,
        };
        var assignments = snapshot.OfType("Microsoft.Authorization/roleAssignments").ToList();
        foreach (var (role, id, scopeType) in Roles)
        {
            var expectedScope = scopes[scopeType];
            var forIdentity = assignments.Where(a =>
                ((string?)a["properties"]?["roleDefinitionId"])?.EndsWith("/roleDefinitions/" + id, StringComparison.OrdinalIgnoreCase) == true
                && ArmExpression.Evaluate((string)a["properties"]!["principalId"]!) is RuntimeValue { Property: "principalId" } principal
                && string.Equals(principal.ResourceId, identityId, StringComparison.OrdinalIgnoreCase)).ToList();
            if (forIdentity.Count == 0)
            {
                problems.Add($"role assignment missing: {role} for the app's identity");
                continue;
            }

            foreach (var a in forIdentity)
            {
                var scope = ScopeOf((string)a["id"]!);
                Expect(problems, string.Equals(scope, expectedScope, StringComparison.OrdinalIgnoreCase), $"{role} must be scoped to {expectedScope}, not {scope}");
            }
        }
    }

    private static void CheckSettings(Dictionary<string, object> settings, string identityId, JsonObject site, InfraSnapshot snapshot, JsonObject storage, JsonObject vault, List<string> problems)
    {
        string? Text(string name) => settings.TryGetValue(name, out var v) ? ArmExpression.AsText(v, StandIn) : null;

        foreach (var name in TimerScheduleSettings.Concat(DeploymentRequiredSettings))
        {
            Expect(problems, !string.IsNullOrWhiteSpace(Text(name)), $"setting missing: {name}");
        }

        // What the app itself refuses to start without, as deployed (Production, on Azure).
        foreach (var error in ValidationErrors(DeployedConfiguration(snapshot)))
        {
            problems.Add("the app refuses these settings: " + error);
        }

        Expect(problems, !settings.ContainsKey("FUNCTIONS_WORKER_RUNTIME") || Text("FUNCTIONS_WORKER_RUNTIME") == ProjectWorkerRuntime, "FUNCTIONS_WORKER_RUNTIME must agree with the project");
        Expect(problems, Text("Auth__Development__Enabled") == "false", "Auth__Development__Enabled must be false");
        Expect(problems, !settings.ContainsKey("Storage__ConnectionString"), "Storage__ConnectionString must not be set: the app reaches storage by its identity");

        // The clients use the app's one identity, whose client id the SDK and the host are given.
        foreach (var name in new[] { "Storage__ManagedIdentityClientId", "AzureWebJobsStorage__clientId" })
        {
            Expect(problems, settings.TryGetValue(name, out var v) && v is RuntimeValue { Property: "clientId" } r && string.Equals(r.ResourceId, identityId, StringComparison.OrdinalIgnoreCase), $"{name} must be the client id of the app's identity");
        }

        Expect(problems, settings.TryGetValue("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", out var ai)
            && ArmExpression.RuntimeValues(ai).Any(r => r.Property == "clientId" && string.Equals(r.ResourceId, identityId, StringComparison.OrdinalIgnoreCase))
            && Text("APPLICATIONINSIGHTS_AUTHENTICATION_STRING")!.EndsWith("Authorization=AAD", StringComparison.Ordinal), "APPLICATIONINSIGHTS_AUTHENTICATION_STRING must name the app's identity with Authorization=AAD");

        var storageName = (string)storage["name"]!;
        Expect(problems, Text("Storage__AccountEndpoint") == $"https://{storageName}.table.core.windows.net", "Storage__AccountEndpoint must be the account's table endpoint");
        Expect(problems, Text("Storage__BlobEndpoint") == $"https://{storageName}.blob.core.windows.net", "Storage__BlobEndpoint must be the account's blob endpoint");
        Expect(problems, Text("AzureWebJobsStorage__accountName") == storageName, "AzureWebJobsStorage__accountName must be the app's storage account");

        var host = StandIn(new RuntimeValue((string)site["id"]!, "defaultHostName"));
        Expect(problems, Text("Sms__WebhookUrl") == $"https://{host}/api/sms/inbound", "Sms__WebhookUrl must be https://{app host}/api/sms/inbound");
        Expect(problems, Text("Sms__StatusCallbackUrl") == $"https://{host}/api/sms/status", "Sms__StatusCallbackUrl must be https://{app host}/api/sms/status");

        var container = Text("Audit__CheckpointContainer");
        Expect(problems, snapshot.OfType("Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies")
            .Any(p => (string?)p["name"] == $"{storageName}/default/{container}/default" && (int?)p["properties"]?["immutabilityPeriodSinceCreationInDays"] > 0),
            "Audit__CheckpointContainer must name a container of the account with a time-based retention policy");

        // Secrets: only as Key Vault references into the app's vault, and no credential in any plain value.
        foreach (var (name, secret) in SecretSettings)
        {
            Expect(problems, Text(name) == $"@Microsoft.KeyVault(VaultName={vault["name"]};SecretName={secret})", $"{name} must be a Key Vault reference to secret {secret} in the app's vault");
        }

        foreach (var (name, _) in settings)
        {
            var value = Text(name)!;
            var looksSecret = name.EndsWith("Token", StringComparison.OrdinalIgnoreCase) || name.EndsWith("Key", StringComparison.OrdinalIgnoreCase)
                || name.Contains("Secret", StringComparison.OrdinalIgnoreCase) || name.Contains("Password", StringComparison.OrdinalIgnoreCase);
            Expect(problems, !looksSecret || value.StartsWith("@Microsoft.KeyVault(", StringComparison.Ordinal), $"{name} looks like a secret but is a plain setting");
            Expect(problems, !value.Contains("AccountKey=", StringComparison.OrdinalIgnoreCase) && !value.Contains("SharedAccessSignature", StringComparison.OrdinalIgnoreCase) && !value.Contains("sig=", StringComparison.OrdinalIgnoreCase), $"{name} carries a credential");
        }
    }

    private static string ScopeOf(string assignmentId) =>
        assignmentId[..assignmentId.IndexOf("/providers/Microsoft.Authorization/roleAssignments/", StringComparison.OrdinalIgnoreCase)];

    private static JsonObject? Single(InfraSnapshot snapshot, string type, List<string> problems, Func<JsonObject, bool>? filter = null)
    {
        var found = snapshot.OfType(type).Where(filter ?? (_ => true)).ToList();
        if (found.Count != 1)
        {
            problems.Add($"expected one {type}, found {found.Count}");
            return null;
        }

        return found[0];
    }

    private static void Expect(List<string> problems, bool condition, string problem)
    {
        if (!condition)
        {
            problems.Add(problem);
        }
    }
}
