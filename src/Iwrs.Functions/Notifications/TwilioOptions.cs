using System.Globalization;
using Iwrs.Domain.Notifications;
using Microsoft.Extensions.Options;

namespace Iwrs.Functions.Notifications;

/// <summary>
/// Twilio settings (section <c>Twilio</c>). Required outside the Development environment; in Development, leaving
/// AccountSid, AuthToken, From and MessagingServiceSid all empty selects the logging sender, which sends nothing and
/// logs each SMS's id and recipient role (never its text or number) instead.
/// </summary>
public sealed class TwilioOptions
{
    public const string Section = "Twilio";

    private static readonly System.Buffers.SearchValues<char> HexDigits = System.Buffers.SearchValues.Create("0123456789abcdefABCDEF");

    /// <summary>The account's SID, <c>AC</c> followed by 32 hex digits; it is also the Basic auth user name.</summary>
    public string? AccountSid { get; set; }

    /// <summary>The account's auth token (Basic auth password). A secret: keep it in Key Vault or app settings, never in the repository. Never logged.</summary>
    public string? AuthToken { get; set; }

    /// <summary>The sending number (E.164) or alphanumeric sender id. Set this or <see cref="MessagingServiceSid"/>, not both.</summary>
    public string? From { get; set; }

    /// <summary>A Messaging Service (<c>MG</c> + 32 hex digits) that picks the sender itself. Set this or <see cref="From"/>, not both.</summary>
    public string? MessagingServiceSid { get; set; }

    /// <summary>Default <c>https://api.twilio.com</c>; tests point it at a fake on loopback (plain http is allowed only there).</summary>
    public string BaseUrl { get; set; } = "https://api.twilio.com";

    /// <summary>Time allowed for one request, answer included. Default 10 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Retries within one send, only for failures where Twilio cannot have taken the message (no connection, or a 5xx).
    /// Default 2. Kept small on purpose: the outbox dispatcher is the real retry loop, across timer runs.
    /// </summary>
    public int MaxRetries { get; set; } = 2;

    /// <summary>Pause before an in-call retry. Default 1 s.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>True when any credential or sender is set; then all of them must be valid.</summary>
    public bool IsConfigured =>
        !string.IsNullOrWhiteSpace(AccountSid) || !string.IsNullOrWhiteSpace(AuthToken)
        || !string.IsNullOrWhiteSpace(From) || !string.IsNullOrWhiteSpace(MessagingServiceSid);

    /// <summary>The longest one send can take: every try timing out, with the pauses between.</summary>
    public TimeSpan WorstCaseSend => (RequestTimeout * (MaxRetries + 1)) + (RetryDelay * MaxRetries);

    internal static bool IsSid(string? value, string prefix) =>
        value is { Length: 34 } && value.StartsWith(prefix, StringComparison.Ordinal) && !value.AsSpan(2).ContainsAnyExcept(HexDigits);

    /// <summary>Alphanumeric sender ids: up to 11 letters, digits or spaces, at least one letter (Twilio's rule).</summary>
    internal static bool IsAlphanumericSenderId(string value) =>
        value.Length is >= 1 and <= 11 && value.All(c => char.IsAsciiLetterOrDigit(c) || c == ' ') && value.Any(char.IsAsciiLetter);
}

/// <summary>Checks TwilioOptions at start and lists every problem, so a deployment without SMS fails before its first message.</summary>
public sealed class TwilioOptionsValidator(IHostEnvironment environment) : IValidateOptions<TwilioOptions>
{
    public ValidateOptionsResult Validate(string? name, TwilioOptions options)
    {
        var errors = new List<string>();
        if (options.IsConfigured || !environment.IsDevelopment())
        {
            var where = options.IsConfigured ? string.Empty : $" (Twilio may be left unconfigured only in Development; this is '{environment.EnvironmentName}')";
            if (string.IsNullOrWhiteSpace(options.AccountSid))
            {
                errors.Add("Twilio:AccountSid is required" + where + ".");
            }
            else if (!TwilioOptions.IsSid(options.AccountSid, "AC"))
            {
                errors.Add("Twilio:AccountSid must be 'AC' followed by 32 hex digits.");
            }

            if (string.IsNullOrWhiteSpace(options.AuthToken))
            {
                errors.Add("Twilio:AuthToken is required" + where + ".");
            }

            var hasFrom = !string.IsNullOrWhiteSpace(options.From);
            var hasService = !string.IsNullOrWhiteSpace(options.MessagingServiceSid);
            if (hasFrom == hasService)
            {
                errors.Add("Set exactly one of Twilio:From and Twilio:MessagingServiceSid" + where + ".");
            }
            else if (hasFrom && !PhoneNumbers.IsE164(options.From) && !TwilioOptions.IsAlphanumericSenderId(options.From!))
            {
                errors.Add("Twilio:From must be an E.164 number (+ and 8-15 digits) or an alphanumeric sender id (1-11 letters, digits or spaces).");
            }
            else if (hasService && !TwilioOptions.IsSid(options.MessagingServiceSid, "MG"))
            {
                errors.Add("Twilio:MessagingServiceSid must be 'MG' followed by 32 hex digits.");
            }
        }

        if (!Uri.TryCreate(options.BaseUrl, UriKind.Absolute, out var baseUrl)
            || (baseUrl.Scheme != Uri.UriSchemeHttps && !(baseUrl.Scheme == Uri.UriSchemeHttp && baseUrl.IsLoopback))
            || !string.IsNullOrEmpty(baseUrl.Query) || !string.IsNullOrEmpty(baseUrl.Fragment))
        {
            errors.Add("Twilio:BaseUrl must be an absolute https URL without query (plain http only on loopback).");
        }

        // Polly's timeout strategy refuses 10 ms or less.
        if (options.RequestTimeout <= TimeSpan.FromMilliseconds(10) || options.RequestTimeout > TimeSpan.FromMinutes(2))
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"Twilio:RequestTimeout must be more than 10 ms and at most 2 minutes (was {options.RequestTimeout})."));
        }

        if (options.MaxRetries is < 0 or > 5)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"Twilio:MaxRetries must be between 0 and 5 (was {options.MaxRetries})."));
        }

        if (options.RetryDelay < TimeSpan.Zero || options.RetryDelay > TimeSpan.FromSeconds(30))
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"Twilio:RetryDelay must be between 0 and 30 seconds (was {options.RetryDelay})."));
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Outbox dispatcher settings (section <c>Notifications</c>); its schedule is the app setting <c>NotificationSchedule</c>.</summary>
public sealed class NotificationOptions
{
    public const string Section = "Notifications";

    /// <summary>
    /// How long a claimed message is reserved for the dispatcher sending it. Default 2 minutes. Must exceed the longest
    /// send (Twilio:RequestTimeout × (MaxRetries + 1) + pauses) by 30 s, or a slow send could be taken over and
    /// duplicated; after a crash, the message waits this long before another run sends it.
    /// </summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Messages handled per run, across all studies. Default 200: with a 30 s schedule that is far above any trial's SMS volume, and a run stays well inside the host's function timeout.</summary>
    public int MaxPerRun { get; set; } = 200;

    /// <summary>Due rows read per query. Default 50.</summary>
    public int PageSize { get; set; } = 50;

    /// <summary>Attempts before a message that keeps failing for a passing reason is given up (Status failed). Default 30, about a day.</summary>
    public int MaxAttempts { get; set; } = DeliveryPolicy.DefaultMaxAttempts;

    /// <summary>
    /// How long the list of study partitions is reused before it is read again. Default 5 minutes: finding the studies
    /// is a query across the whole table, too costly for every 30-second run; a new study's first messages wait at most this long.
    /// </summary>
    public TimeSpan StudyListRefresh { get; set; } = TimeSpan.FromMinutes(5);
}

public sealed class NotificationOptionsValidator(IConfiguration configuration) : IValidateOptions<NotificationOptions>
{
    private static readonly TimeSpan LeaseMargin = TimeSpan.FromSeconds(30);

    public ValidateOptionsResult Validate(string? name, NotificationOptions options)
    {
        var errors = new List<string>();

        // Bound here rather than through IOptions<TwilioOptions>, whose own validation would report Twilio's problems a second time.
        TwilioOptions t;
        try
        {
            t = configuration.GetSection(TwilioOptions.Section).Get<TwilioOptions>() ?? new TwilioOptions();
        }
        catch (InvalidOperationException)
        {
            t = new TwilioOptions();
        }

        if (options.Lease > TimeSpan.FromHours(1))
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"Notifications:Lease must be at most 1 hour (was {options.Lease})."));
        }
        else if (options.Lease < t.WorstCaseSend + LeaseMargin)
        {
            errors.Add(string.Create(
                CultureInfo.InvariantCulture,
                $"Notifications:Lease ({options.Lease}) must exceed the longest send, Twilio:RequestTimeout × (MaxRetries + 1) + RetryDelay × MaxRetries = {t.WorstCaseSend}, by at least {LeaseMargin}."));
        }

        if (options.MaxPerRun is < 1 or > 10_000)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"Notifications:MaxPerRun must be between 1 and 10000 (was {options.MaxPerRun})."));
        }

        if (options.PageSize is < 1 or > 1000)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"Notifications:PageSize must be between 1 and 1000 (was {options.PageSize})."));
        }

        if (options.MaxAttempts is < 1 or > 1000)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"Notifications:MaxAttempts must be between 1 and 1000 (was {options.MaxAttempts})."));
        }

        if (options.StudyListRefresh < TimeSpan.Zero || options.StudyListRefresh > TimeSpan.FromHours(1))
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"Notifications:StudyListRefresh must be between 0 and 1 hour (was {options.StudyListRefresh})."));
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
