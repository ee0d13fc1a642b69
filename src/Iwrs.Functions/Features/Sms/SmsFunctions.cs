using System.ComponentModel;
using System.Text.RegularExpressions;
using Iwrs.Domain;
using Iwrs.Domain.Access;
using Iwrs.Domain.Notifications;
using Iwrs.Domain.Sms;
using Iwrs.Functions.Auth;
using Iwrs.Functions.Errors;
using Iwrs.Functions.Hosting;
using Iwrs.Functions.Notifications;
using Iwrs.Storage.Stores;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;

namespace Iwrs.Functions.Features.Sms;

/// <summary>
/// The SMS door: Twilio's inbound webhook and delivery-status callback (both signed, both anonymous to our bearer
/// authentication: the signature is their authentication), and the API for a user's SMS PIN.
/// </summary>
public sealed partial class SmsFunctions(
    IOptions<SmsOptions> options, IOptions<TwilioOptions> twilio, IwrsTable table, SmsConversation conversation, SmsPinLedger pins, SmsPhoneLedger phones,
    RequestBody body, RoleAssignmentStore roles, TimeProvider time, ILogger<SmsFunctions> log)
{
    public sealed record PinRequest(string? Pin);

    /// <summary>A user's SMS standing: their PIN, its lock, and whether they have a verified phone (never its number).</summary>
    public sealed record PinView(string UserId, bool PinSet, int Failures, bool Locked, bool? PhoneVerified = null);

    public sealed record PhoneRequest(string? Phone);

    /// <summary>
    /// One outbound SMS of the study as a study manager may see it: no body and no phone number (a blinded study's
    /// texts to unblinded staff name kit types), only whom by role, what event, the dispatcher's status and Twilio's
    /// delivery state with their times.
    /// </summary>
    public sealed record MessageView(
        string Id, string Event, string RecipientRole, string Status, int Attempts, DateTimeOffset CreatedAt, DateTimeOffset? SentAt, DateTimeOffset? FailedAt,
        string? ErrorCode, string? ProviderMessageId, string? DeliveryState, string? DeliveryErrorCode, DateTimeOffset? DeliveryUpdatedAt);

    public sealed record MessagesView(IReadOnlyList<MessageView> Messages, string? Next);

    public const int MessagesPerPage = 100;

    public sealed record CodeRequest(string? Code);

    /// <summary>The caller's SMS phone: the verified one (null until one is), and a number waiting for its code.</summary>
    public sealed record PhoneView(string UserId, string? Phone, DateTimeOffset? VerifiedAt, string? PendingPhone, DateTimeOffset? CodeExpiresAt, int? AttemptsLeft);

    [Function("SmsInbound")]
    [AllowAnonymous]
    [Description("Twilio's inbound SMS webhook (X-Twilio-Signature over Sms:WebhookUrl); answers TwiML.")]
    public async Task<IResult> Inbound([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "sms/inbound")] HttpRequest req, CancellationToken ct)
    {
        var o = options.Value;
        var (form, refusal) = await ReadSignedAsync(req, o.WebhookUrl, "Inbound SMS webhook", ct);
        if (refusal is not null)
        {
            return refusal;
        }

        var fields = form!;
        var sid = fields.GetValueOrDefault("MessageSid") ?? fields.GetValueOrDefault("SmsSid");
        var from = fields.GetValueOrDefault("From");
        if (sid is null || !MessageSidPattern().IsMatch(sid) || !PhoneNumbers.IsE164(from))
        {
            return Problems.From(DomainError.Validation(
                [new FieldError("MessageSid", "must be Twilio's SM or MM followed by 32 hex digits."), new FieldError("From", "must be an E.164 phone number.")],
                "The webhook is not an SMS from a phone."));
        }

        var client = await table.GetAsync(ct);
        var claimedAt = time.GetUtcNow();
        var earlier = await SmsRows.TryClaimMessageAsync(client, sid, claimedAt, ct);
        if (earlier is not null)
        {
            if (earlier.Reply is not null)
            {
                log.LogInformation("SMS {MessageSid} replayed: answered with its first reply, nothing done again", sid);
                return SmsWebhook.TwiML(earlier.Reply.Length == 0 ? null : earlier.Reply);
            }

            // Another delivery of it is being answered, or was and died: in the first case say nothing, in the second take over.
            if (claimedAt - earlier.ClaimedAt < o.ClaimTimeout || !await SmsRows.TryTakeOverMessageAsync(client, earlier, claimedAt, ct))
            {
                log.LogInformation("SMS {MessageSid} arrived again while its first delivery is being answered; nothing done", sid);
                return SmsWebhook.TwiML(null);
            }
        }

        var reply = await conversation.AnswerAsync(sid, from!, fields.GetValueOrDefault("Body"), ct);
        await SmsRows.CompleteMessageAsync(client, sid, reply ?? string.Empty, claimedAt, time.GetUtcNow(), ct);
        log.LogInformation("SMS {MessageSid} answered ({Replied})", sid, reply is null ? "no reply" : "one reply");
        return SmsWebhook.TwiML(reply);
    }

    [Function("SmsStatus")]
    [AllowAnonymous]
    [Description("Twilio's delivery-status callback (signed like the inbound webhook): queued, sent, delivered, undelivered, failed.")]
    public async Task<IResult> Status([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "sms/status")] HttpRequest req, CancellationToken ct)
    {
        // Twilio signs the callback URL it was given, with the query that names the message.
        var o = options.Value;
        var (signed, refusal) = await ReadSignedAsync(req, o.StatusCallbackUrl is null ? null : o.StatusCallbackUrl + req.QueryString.Value, "SMS status callback", ct);
        if (refusal is not null)
        {
            return refusal;
        }

        var form = signed!;

        var partition = RequestQuery.String(req, "partition");
        var id = RequestQuery.String(req, "id");
        var sid = form.GetValueOrDefault("MessageSid");
        if (partition is null || id is null || !TableKeysValid(partition, id) || sid is null || !MessageSidPattern().IsMatch(sid))
        {
            return Problems.From(DomainError.Validation([new FieldError("query", "must name the message (partition, id) as the send did; MessageSid must be Twilio's.")]));
        }

        if (!DeliveryReports.TryParse(form.GetValueOrDefault("MessageStatus"), out var state))
        {
            // A status this version does not know (Twilio adds some now and then): accepted, not recorded.
            return TypedResults.NoContent();
        }

        var client = await table.GetAsync(ct);
        var record = await Outbox.GetAsync(client, partition, id, ct);
        if (record is null || (record.ProviderMessageId is { } known && known != sid))
        {
            return Problems.From(new DomainError("notification-not-found", "No message sent by this app matches the callback."));
        }

        var errorCode = form.GetValueOrDefault("ErrorCode");
        var applied = await DeliveryReportRows.ApplyAsync(client, time, partition, id, new DeliveryReportRows.Report(state, sid, errorCode, time.GetUtcNow()), ct);
        if (!applied.IsSuccess)
        {
            return Problems.From(applied.Error!);
        }

        log.LogInformation("Notification {Partition}/{NotificationId}: Twilio reports {State}", partition, id, DeliveryReports.Name(applied.Value.State));
        return TypedResults.NoContent();
    }

    [Function("SetSmsPin")]
    [Description("Set (or change) the caller's own SMS PIN: 4 to 8 digits, stored only as a salted PBKDF2 hash.")]
    public async Task<IResult> SetPin([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "sms/pin")] HttpRequest req, CancellationToken ct)
    {
        var read = await body.ReadAsync<PinRequest>(req, ct);
        if (!read.IsSuccess)
        {
            return Problems.From(read.Error!);
        }

        var caller = Caller.From(req.HttpContext);
        var set = await pins.SetAsync(caller.UserId, read.Value.Pin ?? string.Empty, ct);
        return set.IsSuccess ? TypedResults.Ok(View(caller.UserId, set.Value)) : Problems.From(set.Error!);
    }

    [Function("RegisterSmsPhone")]
    [Description("Register the caller's own SMS phone (E.164; callers with a study role or administrators): a 6-digit code is sent to it by SMS; the phone acts as the caller only once the code is typed back.")]
    public async Task<IResult> RegisterPhone([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "sms/phone")] HttpRequest req, CancellationToken ct)
    {
        var read = await body.ReadAsync<PhoneRequest>(req, ct);
        if (!read.IsSuccess)
        {
            return Problems.From(read.Error!);
        }

        // A code is an SMS to a number of the caller's choosing: only people who work in a study (or administer) send one,
        // so that any account the identity provider signs in cannot use the app's Twilio number to text strangers.
        var caller = Caller.From(req.HttpContext);
        if ((await roles.InEveryStudyAsync(caller.UserId, ct)).Count == 0 &&
            !await req.HttpContext.RequestServices.GetRequiredService<AccessResolver>().IsAdministratorAsync(caller, ct))
        {
            return Problems.From(new DomainError("not-authorized", "Only users who hold a role in a study, or administrators, register an SMS phone."));
        }

        var registered = await phones.RegisterAsync(caller.UserId, read.Value.Phone ?? string.Empty, ct);
        if (!registered.IsSuccess)
        {
            return Problems.From(registered.Error!);
        }

        var view = View(caller.UserId, registered.Value);
        return view.PendingPhone is null ? TypedResults.Ok(view) : TypedResults.Accepted("/api/sms/phone", view);
    }

    [Function("VerifySmsPhone")]
    [Description("Type back the code sent to the phone being registered: within 10 minutes, once; five wrong codes void it.")]
    public async Task<IResult> VerifyPhone([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "sms/phone/verify")] HttpRequest req, CancellationToken ct)
    {
        var read = await body.ReadAsync<CodeRequest>(req, ct);
        if (!read.IsSuccess)
        {
            return Problems.From(read.Error!);
        }

        var caller = Caller.From(req.HttpContext);
        var verified = await phones.VerifyAsync(caller.UserId, read.Value.Code, ct);
        if (!verified.IsSuccess)
        {
            return Problems.From(verified.Error!);
        }

        var (outcome, state) = verified.Value;
        return outcome switch
        {
            PhoneCodeOutcome.Verified => TypedResults.Ok(View(caller.UserId, state)),
            PhoneCodeOutcome.Wrong => Problems.From(new DomainError("sms-phone-code-wrong",
                $"That is not the code sent to the phone; {PhoneVerification.MaxAttempts - state.Pending!.Attempts} tries left.")),
            PhoneCodeOutcome.Voided => Problems.From(new DomainError("sms-phone-code-void",
                $"{PhoneVerification.MaxAttempts} wrong codes: the code is void. Register the phone again for a new one.")),
            PhoneCodeOutcome.Expired => Problems.From(new DomainError("sms-phone-code-expired",
                $"The code is older than {(int)PhoneVerification.Lifetime.TotalMinutes} minutes. Register the phone again for a new one.")),
            _ => Problems.From(new DomainError("sms-phone-no-code", "No phone is waiting for a code: register one first (PUT /api/sms/phone).")),
        };
    }

    [Function("GetSmsPhone")]
    [Description("The caller's own SMS phone: verified or waiting for its code.")]
    public async Task<IResult> GetPhone([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "sms/phone")] HttpRequest req, CancellationToken ct)
    {
        var caller = Caller.From(req.HttpContext);
        return TypedResults.Ok(View(caller.UserId, await phones.GetAsync(caller.UserId, ct)));
    }

    [Function("RemoveSmsPhone")]
    [Description("Give up the caller's own SMS phone: SMS from it no longer acts as the caller.")]
    public async Task<IResult> RemovePhone([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "sms/phone")] HttpRequest req, CancellationToken ct)
    {
        var caller = Caller.From(req.HttpContext);
        var removed = await phones.RemoveAsync(caller.UserId, (caller.UserId, "user"), null, ct);
        return removed.IsSuccess ? TypedResults.Ok(View(caller.UserId, removed.Value)) : Problems.From(removed.Error!);
    }

    [Function("ListSmsMessages")]
    [Description("Administrator, study manager: the study's outbound SMS, oldest first, 100 a page (?after={id}): recipient role, event, status, Twilio's delivery state and times; never a body or a number.")]
    public async Task<IResult> ListMessages([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "studies/{studyId}/sms/messages")] HttpRequest req, string studyId, CancellationToken ct)
    {
        var after = RequestQuery.String(req, "after");
        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ManageRoles, null, req.HttpContext, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        if (after is not null && !Identifiers.IsValid(after, Notification.MaxIdLength))
        {
            return Problems.From(DomainError.Validation([new FieldError("after", "must be a message id from an earlier page.")]));
        }

        var records = await Outbox.PageAsync(context!.Table, studyId, after, MessagesPerPage, ct);
        var reports = records.Count == 0
            ? new Dictionary<string, DeliveryReportRows.Report>()
            : await DeliveryReportRows.RangeAsync(context.Table, studyId, records[0].Notification.Id, records[^1].Notification.Id, ct);
        var messages = records.Select(r =>
        {
            var report = reports.GetValueOrDefault(r.Notification.Id);
            return new MessageView(
                r.Notification.Id, r.Notification.Event, r.Notification.RecipientRoleName, Outbox.StatusName(r.Status), r.Attempts, r.CreatedAt, r.SentAt, r.FailedAt,
                r.ErrorCode, r.ProviderMessageId, report is null ? null : DeliveryReports.Name(report.State), report?.ErrorCode, report?.UpdatedAt);
        }).ToList();
        return TypedResults.Ok(new MessagesView(messages, records.Count == MessagesPerPage ? records[^1].Notification.Id : null));
    }

    [Function("GetSmsPin")]
    [Description("Study manager: whether a user of the study has an SMS PIN, its wrong PINs in a row, whether SMS is locked and whether they have a verified SMS phone.")]
    public async Task<IResult> GetPin([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "studies/{studyId}/sms/users/{userId}")] HttpRequest req, string studyId, string userId, CancellationToken ct)
    {
        var (_, refusal) = await ResolveManagerAsync(studyId, userId, req.HttpContext, ct);
        return refusal ?? TypedResults.Ok(await StandingAsync(userId, ct));
    }

    [Function("UnlockSms")]
    [Description("Administrator, or a study manager of every study the user holds a role in: unlock SMS after five wrong PINs in a row (audited).")]
    public async Task<IResult> Unlock([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "studies/{studyId}/sms/users/{userId}/unlock")] HttpRequest req, string studyId, string userId, CancellationToken ct)
    {
        var (context, _, refusal) = await ResolveEveryStudyManagerAsync(studyId, userId, "unlocks SMS", req.HttpContext, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        var unlocked = await pins.UnlockAsync(userId, context!.Caller.UserId, context.ActingAs.Name(), studyId, ct);
        return unlocked.IsSuccess ? TypedResults.Ok(await StandingAsync(userId, ct)) : Problems.From(unlocked.Error!);
    }

    [Function("RemoveUsersSmsPhone")]
    [Description("Administrator, or a study manager of every study the user holds a role in (administrator only for depot managers, medical monitors and unblinded users): remove a user's SMS phone (a lost phone); it then acts as nobody and gets no notices (audited).")]
    public async Task<IResult> RemoveUsersPhone([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "studies/{studyId}/sms/users/{userId}/phone")] HttpRequest req, string studyId, string userId, CancellationToken ct)
    {
        var (context, held, refusal) = await ResolveEveryStudyManagerAsync(studyId, userId, "removes their SMS phone", req.HttpContext, ct);
        if (refusal is not null)
        {
            return refusal;
        }

        // The phones that unblinded notices and emergency-unblinding notices go to are an administrator's to remove: a
        // study manager could otherwise silence the depot or the medical monitors.
        if (context!.ActingAs != Role.Administrator &&
            held.Any(a => a.Assignment.Role.IsUnblinded() || a.Assignment.Role == Role.MedicalMonitor))
        {
            return Problems.From(new DomainError("not-authorized",
                "This user is a depot manager, medical monitor or unblinded user somewhere: an administrator removes their SMS phone."));
        }

        var removed = await phones.RemoveAsync(userId, (context!.Caller.UserId, context.ActingAs.Name()), studyId, ct);
        return removed.IsSuccess ? TypedResults.Ok(await StandingAsync(userId, ct)) : Problems.From(removed.Error!);
    }

    /// <summary>The posted form when Twilio signed it over <paramref name="url"/>; otherwise the refusal. Nothing of an unsigned request is looked at, let alone logged.</summary>
    private async Task<(IReadOnlyDictionary<string, string>? Form, IResult? Refusal)> ReadSignedAsync(HttpRequest req, string? url, string what, CancellationToken ct)
    {
        var form = await SmsWebhook.ReadFormAsync(req, options.Value.MaxBodyBytes, ct);
        if (!form.IsSuccess)
        {
            return (null, Problems.From(form.Error!));
        }

        if (!SmsWebhook.IsSigned(req, url, twilio.Value.AuthToken, form.Value))
        {
            log.LogWarning("{What} refused: {Reason}", what, req.Headers.ContainsKey(SmsWebhook.SignatureHeader) ? "wrong signature" : "no signature");
            return (null, Problems.From(SignatureRefusal));
        }

        return (form.Value, null);
    }

    private static DomainError SignatureRefusal => new("sms-signature-invalid", "The request does not carry a valid X-Twilio-Signature for this webhook.");

    /// <summary>A study manager (or administrator) of the study, about a user who holds a role in it.</summary>
    private async Task<(StudyContext? Context, IResult? Refusal)> ResolveManagerAsync(string studyId, string userId, HttpContext http, CancellationToken ct)
    {
        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ManageRoles, null, http, ct);
        if (refusal is not null)
        {
            return (null, refusal);
        }

        return Identifiers.IsValid(userId, 128) && (await roles.ForUserAsync(studyId, userId, ct)).Count > 0
            ? (context, null)
            : (null, Problems.From(new DomainError("sms-user-not-found", $"'{(userId.Length > 64 ? userId[..64] : userId)}' holds no role in this study.")));
    }

    /// <summary>
    /// <see cref="ResolveManagerAsync"/>, for acts on what serves every study the user works in (their PIN's lock, their
    /// phone): a study manager may do them only for a user all of whose studies they manage; an administrator for anyone.
    /// Otherwise a manager of one study could grant anyone a role there and then unlock that user's PIN after each five
    /// guesses, or cut off the phone another study's depot or monitors are reached on.
    /// </summary>
    private async Task<(StudyContext? Context, IReadOnlyList<StoredRoleAssignment> Held, IResult? Refusal)> ResolveEveryStudyManagerAsync(string studyId, string userId, string what, HttpContext http, CancellationToken ct)
    {
        var (context, refusal) = await ResolveManagerAsync(studyId, userId, http, ct);
        if (refusal is not null)
        {
            return (null, [], refusal);
        }

        var access = http.RequestServices.GetRequiredService<AccessResolver>();
        var held = await roles.InEveryStudyAsync(userId, ct);
        foreach (var other in held.Select(a => a.Assignment.StudyId).OfType<string>().Distinct(StringComparer.Ordinal))
        {
            if (other != studyId && !(await access.ForStudyAsync(context!.Caller, other, ct)).Authorize(StudyAction.ManageRoles, null).IsSuccess)
            {
                return (null, held, Problems.From(new DomainError("not-authorized",
                    $"This user also works in a study you do not manage; an administrator, or a manager of every study of theirs, {what}.")));
            }
        }

        return (context, held, null);
    }

    private async Task<PinView> StandingAsync(string userId, CancellationToken ct)
    {
        var pin = View(userId, await pins.GetAsync(userId, ct));
        return pin with { PhoneVerified = await SmsRows.VerifiedPhoneAsync(await table.GetAsync(ct), userId, ct) is not null };
    }

    private static PhoneView View(string userId, PhoneRegistration state) => new(
        userId, state.Phone, state.VerifiedAt, state.Pending?.Phone, state.Pending?.ExpiresAt,
        state.Pending is { } p ? PhoneVerification.MaxAttempts - p.Attempts : null);

    private static PinView View(string userId, PinState state) => new(userId, state.Hash is not null, state.Failures, state.IsLocked);

    private static bool TableKeysValid(string partition, string id) =>
        (partition == IwrsTable.SystemPartition || Identifiers.IsValid(partition)) && Identifiers.IsValid(id, Notification.MaxIdLength);

    [GeneratedRegex("^(SM|MM)[0-9a-fA-F]{32}$")]
    private static partial Regex MessageSidPattern();
}
