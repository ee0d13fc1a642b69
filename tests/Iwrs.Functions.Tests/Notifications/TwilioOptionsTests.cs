using Iwrs.Functions.Notifications;
using Iwrs.Storage.Stores;
using Iwrs.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Iwrs.Functions.Tests.Notifications;

/// <summary>Twilio and dispatcher settings are checked when the app starts, listing every problem.</summary>
public sealed class TwilioOptionsTests
{
    /// <summary>Auth as a deployed app has it, so that only the Twilio settings decide whether it starts.</summary>
    private static readonly Dictionary<string, string?> ProductionAuth = new()
    {
        ["Auth:Development:Enabled"] = "false",
        ["Auth:Authority"] = "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0",
        ["Auth:Audience"] = "api://iwrs",
    };

    /// <summary>
    /// Builds the app as Program.cs does and starts it. Not through WebApplicationFactory: when start fails, its deferred
    /// host can race the entry point's disposal and report ObjectDisposedException instead of the validation error.
    /// </summary>
    private static async Task<OptionsValidationException> StartFails(string environment, Dictionary<string, string?> settings)
    {
        var all = new Dictionary<string, string?>
        {
            ["Storage:ConnectionString"] = AzuriteServer.Instance.ConnectionString,
            ["Storage:TableName"] = AzuriteServer.UniqueTableName("it"),
            ["Auth:Development:Enabled"] = "true",
            ["Timers:RunLocally"] = "false",
            ["Audit:SigningKey"] = IwrsFactory.AuditSigningKey,
            ["urls"] = "http://127.0.0.1:0",
        };
        foreach (var (k, v) in settings)
        {
            all[k] = v;
        }

        await using var app = Iwrs.LocalHost.LocalFunctionsHost.Build(["--environment", environment], b => b.Configuration.AddInMemoryCollection(all));
        return await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
    }

    [Fact]
    public async Task Start_ProductionWithoutTwilio_RefusesListingEveryMissingSetting()
    {
        var e = await StartFails("Production", ProductionAuth);

        Assert.Contains("Twilio:AccountSid is required", e.Message, StringComparison.Ordinal);
        Assert.Contains("Twilio:AuthToken is required", e.Message, StringComparison.Ordinal);
        Assert.Contains("Set exactly one of Twilio:From and Twilio:MessagingServiceSid", e.Message, StringComparison.Ordinal);
        Assert.Contains("only in Development", e.Message, StringComparison.Ordinal);
        Assert.Equal(3, e.Failures.Count());
    }

    [Fact]
    public async Task Start_ProductionWithTwilio_StartsWithTheTwilioSender()
    {
        await using var twilio = await FakeTwilioServer.StartAsync();
        var settings = new Dictionary<string, string?>(ProductionAuth);
        foreach (var (k, v) in twilio.AppSettings())
        {
            settings[k] = v;
        }

        await using var app = new IwrsFactory(environment: "Production", settings: settings);
        _ = app.CreateClient();

        Assert.IsType<TwilioSmsSender>(app.Services.GetRequiredService<ISmsSender>());
    }

    [Fact]
    public async Task Start_DevelopmentWithoutTwilio_LogsEachSmsAndMarksItDeliveredByLog()
    {
        await using var app = new IwrsFactory();
        await app.LoadSeedStudies();
        Assert.IsType<LoggingSmsSender>(app.Services.GetRequiredService<ISmsSender>());
        var n = NotificationHarness.Message(1);
        var table = await app.Services.GetRequiredService<IwrsTable>().GetAsync(CancellationToken.None);
        var actions = new StudyChange();
        Outbox.Add(actions, NotificationHarness.Study, n, app.Services.GetRequiredService<TimeProvider>().GetUtcNow());
        await actions.SubmitAsync(table, CancellationToken.None);

        var lines = await NotificationHarness.Dispatch(app).RunAsync(new("NotificationDispatch", DateTimeOffset.UnixEpoch, false), CancellationToken.None);

        Assert.Equal("sent 1, retry 0, failed 0", lines[0]);
        var record = await Outbox.GetAsync(table, NotificationHarness.Study, n.Id, CancellationToken.None);
        Assert.Equal(Iwrs.Domain.Notifications.DeliveryStatus.Sent, record!.Status);
        Assert.Equal("log", record.Provider);
        Assert.Equal("log-" + n.Id, record.ProviderMessageId);
    }

    [Fact]
    public async Task Start_DevelopmentHalfConfigured_RefusesListingWhatIsWrong()
    {
        var e = await StartFails("Development", new()
        {
            ["Twilio:AccountSid"] = "AC123",
            ["Twilio:From"] = "+15005550006",
            ["Twilio:MessagingServiceSid"] = "MG0123456789abcdef0123456789abcdef",
            ["Twilio:BaseUrl"] = "http://api.twilio.com",
            ["Twilio:RequestTimeout"] = "00:00:00.005",
        });

        Assert.Contains("Twilio:AccountSid must be 'AC' followed by 32 hex digits", e.Message, StringComparison.Ordinal);
        Assert.Contains("Twilio:AuthToken is required.", e.Message, StringComparison.Ordinal);
        Assert.Contains("Set exactly one of Twilio:From and Twilio:MessagingServiceSid.", e.Message, StringComparison.Ordinal);
        Assert.Contains("Twilio:BaseUrl must be an absolute https URL", e.Message, StringComparison.Ordinal);
        Assert.Contains("Twilio:RequestTimeout", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_LeaseShorterThanTheLongestSend_Refuses()
    {
        await using var twilio = await FakeTwilioServer.StartAsync();
        var settings = twilio.AppSettings();
        settings["Twilio:RequestTimeout"] = "00:00:30";
        settings["Notifications:Lease"] = "00:01:00";

        var e = await StartFails("Development", settings);

        Assert.Contains("Notifications:Lease (00:01:00) must exceed the longest send", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("+15005550006", true)]
    [InlineData("IWRS Trial", true)]
    [InlineData("TwelveChars1", false)]
    [InlineData("12345", false)]
    [InlineData("5005550006", false)]
    public void Validate_From_E164OrAlphanumericSenderId(string from, bool valid)
    {
        var options = new TwilioOptions { AccountSid = FakeTwilioServer.AccountSid, AuthToken = "t", From = from };
        var environment = new Moq.Mock<IHostEnvironment>();
        environment.SetupGet(e => e.EnvironmentName).Returns("Production");

        var result = new TwilioOptionsValidator(environment.Object).Validate(null, options);

        Assert.Equal(valid, result.Succeeded);
    }
}
