using System.Text.RegularExpressions;
using Iwrs.Testing;
using Xunit.Abstractions;

namespace Iwrs.Deployment.Tests;

/// <summary>The compiled main.bicep and its predicted deployment, made once for the tests of the contract.</summary>
public sealed class CompiledInfra
{
    public System.Text.Json.Nodes.JsonObject Template { get; } = InfraSnapshot.CompileMain();

    public InfraSnapshot Snapshot => _snapshot.Value;

    private readonly Lazy<InfraSnapshot> _snapshot;

    public CompiledInfra() => _snapshot = new(() => InfraSnapshot.Predict(Template));
}

public sealed class InfraContractTests(CompiledInfra infra) : IClassFixture<CompiledInfra>
{
    [Fact]
    public void Check_TemplateAsWritten_FindsNothing()
    {
        Assert.Empty(InfraContract.Check(infra.Snapshot));
    }

    [Fact]
    public void DeployedSettings_PassTheAppsOptionsValidation()
    {
        var configuration = InfraContract.DeployedConfiguration(infra.Snapshot);

        Assert.Empty(InfraContract.ValidationErrors(configuration));
        Assert.Equal("false", configuration["Auth:Development:Enabled"]);
    }

    [Fact]
    public void ValidationErrors_NothingSet_NamesTheRequiredSettings()
    {
        var errors = string.Join("\n", InfraContract.ValidationErrors(new Dictionary<string, string?>()));

        Assert.Contains("Storage:ConnectionString and Storage:AccountEndpoint", errors, StringComparison.Ordinal);
        Assert.Contains("Auth:Authority is required", errors, StringComparison.Ordinal);
        Assert.Contains("Twilio:AccountSid is required", errors, StringComparison.Ordinal);
        Assert.Contains("Twilio:AuthToken is required", errors, StringComparison.Ordinal);
    }

    [Fact]
    public void TimerScheduleSettings_AreReadFromTheTimerTriggers()
    {
        Assert.Contains("ResupplySchedule", InfraContract.TimerScheduleSettings);
        Assert.Contains("NotificationSchedule", InfraContract.TimerScheduleSettings);
    }

    [Fact]
    public void Runtime_IsTheProjects()
    {
        var app = infra.Snapshot.OfType("Microsoft.Web/sites").Single();

        Assert.Equal("dotnet-isolated", InfraContract.ProjectWorkerRuntime);
        Assert.Equal("10.0", InfraContract.ProjectRuntimeVersion);
        Assert.Equal(InfraContract.ProjectWorkerRuntime, (string?)app["properties"]!["functionAppConfig"]!["runtime"]!["name"]);
        Assert.Equal(InfraContract.ProjectRuntimeVersion, (string?)app["properties"]!["functionAppConfig"]!["runtime"]!["version"]);
        Assert.Null(infra.Snapshot.OfType("Microsoft.Web/sites/config").Single()["properties"]!["FUNCTIONS_WORKER_RUNTIME"]);
    }

    [Fact]
    public void Outputs_NameTheAppAndTheSmsWebhook()
    {
        var webhook = ArmExpression.AsText(ArmExpression.Evaluate((string)infra.Snapshot.Outputs["SMS_WEBHOOK_URL"]!), InfraContract.StandIn);
        var app = (string)infra.Snapshot.OfType("Microsoft.Web/sites").Single()["name"]!;

        Assert.Equal($"https://{app}.azurewebsites.net/api/sms/inbound", webhook);
        Assert.NotNull(infra.Snapshot.Outputs["APP_URL"]);
    }

    /// <summary>The web app is a Static Web App with no linked backend; the API allows exactly its origin, without credentials.</summary>
    [Fact]
    public void WebApp_IsAStaticWebApp_WhoseOriginAloneTheApiAllows()
    {
        var site = infra.Snapshot.OfType("Microsoft.Web/staticSites").Single();
        Assert.Equal("Standard", (string?)site["sku"]!["name"]);
        Assert.Empty(infra.Snapshot.OfType("Microsoft.Web/staticSites/linkedBackends"));

        // The Static Web App's host name is Azure's to give: a stand-in named after the resource the value is read from.
        string StandIn(RuntimeValue v) => v.Property == "defaultHostname" ? v.ResourceId[(v.ResourceId.LastIndexOf('/') + 1)..] + ".azurestaticapps.net" : InfraContract.StandIn(v);
        var cors = infra.Snapshot.OfType("Microsoft.Web/sites").Single()["properties"]!["siteConfig"]!["cors"]!;
        var origin = ArmExpression.AsText(ArmExpression.Evaluate((string)Assert.Single(cors["allowedOrigins"]!.AsArray())!), StandIn);
        var webUrl = ArmExpression.AsText(ArmExpression.Evaluate((string)infra.Snapshot.Outputs["WEB_URL"]!), StandIn);
        Assert.Equal($"https://{(string)site["name"]!}.azurestaticapps.net", origin);
        Assert.Equal(webUrl, origin);
        Assert.StartsWith("https://", origin, StringComparison.Ordinal);
        Assert.False((bool)cors["supportCredentials"]!);

        // The web app's settings (an expression until deployed) name the API's host and an Entra v2 authority.
        var settings = (string)infra.Snapshot.Outputs["WEB_APPSETTINGS"]!;
        var app = (string)infra.Snapshot.OfType("Microsoft.Web/sites").Single()["name"]!;
        Assert.Contains("Microsoft.Web/sites/" + app, settings, StringComparison.Ordinal);
        Assert.Contains("/v2.0", settings, StringComparison.Ordinal);
    }

    /// <summary>Every setting the app binds (each options class with a Section) and every setting the template sets is in the README's table.</summary>
    [Fact]
    public void Readme_ConfigurationTable_DocumentsEveryOptionAndEveryTemplateSetting()
    {
        var readme = File.ReadAllText(Path.Combine(AzuriteServer.RepositoryRoot(), "README.md"));
        var table = readme[readme.IndexOf("## Configuration", StringComparison.Ordinal)..readme.IndexOf("## API", StringComparison.Ordinal)];
        var documented = Regex.Matches(table, "`([A-Za-z_:]+)`").Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);

        var fromCode = OptionSettings.All();
        var fromTemplate = infra.Snapshot.OfType("Microsoft.Web/sites/config").Single()["properties"]!.AsObject()
            .Select(p => Regex.Replace(p.Key, "__[0-9]+$", string.Empty).Replace("__", ":", StringComparison.Ordinal));

        Assert.NotEmpty(fromCode);
        Assert.Empty(fromCode.Concat(fromTemplate).Distinct().Where(s => !documented.Contains(s)).Order());
    }
}

/// <summary>The contract test fails when the template drops what the app needs: each case edits the compiled main.json.</summary>
public sealed class InfraContractMutationTests(CompiledInfra infra, ITestOutputHelper output) : IClassFixture<CompiledInfra>
{
    public static TheoryData<string, string> Mutations() => new()
    {
        { "drop setting Storage__AccountEndpoint", "Set exactly one of Storage:ConnectionString and Storage:AccountEndpoint" },
        { "drop setting Auth__Authority", "Auth:Authority is required" },
        { "drop setting ResupplySchedule", "setting missing: ResupplySchedule" },
        { "drop setting Sms__WebhookUrl", "setting missing: Sms__WebhookUrl" },
        { "set Auth__Development__Enabled true", "Auth__Development__Enabled must be false" },
        { "set Twilio__AuthToken plain", "Twilio__AuthToken must be a Key Vault reference to secret twilio-auth-token" },
        { "drop role storageTableDataContributor", "role assignment missing: Storage Table Data Contributor for the app's identity" },
        { "scope role keyVaultSecretsUser to storage", "Key Vault Secrets User must be scoped to" },
    };

    [Theory]
    [MemberData(nameof(Mutations))]
    public void Check_TemplateMissingWhatTheAppNeeds_NamesIt(string mutation, string expected)
    {
        var words = mutation.Split(' ');
        var template = (words[0], words[1]) switch
        {
            ("drop", "setting") => ArmTemplateMutation.WithoutSetting(infra.Template, words[2]),
            ("set", _) when words[2] == "true" => ArmTemplateMutation.WithSetting(infra.Template, words[1], "true"),
            ("set", _) => ArmTemplateMutation.WithSetting(infra.Template, words[1], "not-a-reference-but-a-token"),
            ("drop", "role") => ArmTemplateMutation.WithoutRoleAssignment(infra.Template, words[2]),
            ("scope", "role") => ArmTemplateMutation.WithRoleScope(infra.Template, words[2], "[resourceId('Microsoft.Storage/storageAccounts', parameters('storageAccountName'))]"),
            _ => throw new ArgumentException(mutation),
        };
        Assert.NotEqual(infra.Template.ToJsonString(), template.ToJsonString());

        var problems = InfraContract.Check(InfraSnapshot.Predict(template));
        output.WriteLine($"{mutation}: {string.Join(" | ", problems)}");

        Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
    }
}
