using Microsoft.Extensions.Options;

namespace Iwrs.Functions.Features.Sms;

/// <summary>
/// The SMS door's settings (section <c>Sms</c>). Twilio signs each webhook over the URL it was configured with, which
/// behind the Functions front end is not the URL the app sees, so both public URLs are settings. Twilio's auth token
/// (<c>Twilio:AuthToken</c>) is the signing secret.
/// </summary>
public sealed class SmsOptions
{
    public const string Section = "Sms";

    /// <summary>
    /// The public URL of <c>POST /api/sms/inbound</c>, exactly as configured on the Twilio number (deployed:
    /// <c>https://{app host}/api/sms/inbound</c>). Unset: every inbound webhook is refused (403), since none can be checked.
    /// </summary>
    public string? WebhookUrl { get; set; }

    /// <summary>
    /// The public URL of <c>POST /api/sms/status</c>. When set, every send asks Twilio for delivery reports there (with
    /// the message's partition and id in the query); unset, no reports are asked for.
    /// </summary>
    public string? StatusCallbackUrl { get; set; }

    /// <summary>
    /// True when Twilio's Advanced Opt-Out answers HELP and INFO itself: the app then stays silent on those two words
    /// alone (so a sender never gets two replies) and lists its commands for COMMANDS. Default false.
    /// </summary>
    public bool TwilioAnswersHelp { get; set; }

    /// <summary>Largest webhook body read. Default 16 KiB: room for a 1,600-character SMS, percent-encoded, with Twilio's other parameters.</summary>
    public int MaxBodyBytes { get; set; } = 16 * 1024;

    /// <summary>
    /// How long a webhook that was claimed but never answered (its instance died) blocks a replay of it. Default 1 minute,
    /// beyond Twilio's 15-second webhook timeout; after it a replay processes the message again (every step is idempotent).
    /// </summary>
    public TimeSpan ClaimTimeout { get; set; } = TimeSpan.FromMinutes(1);
}

public sealed class SmsOptionsValidator : IValidateOptions<SmsOptions>
{
    public ValidateOptionsResult Validate(string? name, SmsOptions options)
    {
        var errors = new List<string>();
        if (options.WebhookUrl is { Length: > 0 } webhook && !IsPublicUrl(webhook, allowQuery: true))
        {
            errors.Add("Sms:WebhookUrl must be an absolute https URL without fragment (plain http only on loopback).");
        }

        if (options.StatusCallbackUrl is { Length: > 0 } status && !IsPublicUrl(status, allowQuery: false))
        {
            errors.Add("Sms:StatusCallbackUrl must be an absolute https URL without query or fragment (plain http only on loopback).");
        }

        if (options.MaxBodyBytes is < 1024 or > 1024 * 1024)
        {
            errors.Add("Sms:MaxBodyBytes must be between 1024 and 1048576.");
        }

        if (options.ClaimTimeout < TimeSpan.FromSeconds(15) || options.ClaimTimeout > TimeSpan.FromHours(1))
        {
            errors.Add("Sms:ClaimTimeout must be between 15 seconds and 1 hour.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static bool IsPublicUrl(string value, bool allowQuery) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback))
        && string.IsNullOrEmpty(uri.Fragment) && (allowQuery || string.IsNullOrEmpty(uri.Query));
}

public static class SmsSetup
{
    /// <summary>The SMS door: its settings, the sender directory, PINs and the conversation.</summary>
    public static IServiceCollection AddIwrsSms(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SmsOptions>().Bind(configuration.GetSection(SmsOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SmsOptions>, SmsOptionsValidator>();
        services.AddSingleton<RegisteredPhones>();
        services.AddSingleton<SmsPinLedger>();
        services.AddSingleton<SmsPhoneLedger>();
        services.AddSingleton<SmsConversation>();
        return services;
    }
}
