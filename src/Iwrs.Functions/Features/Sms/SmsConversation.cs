using Iwrs.Domain;
using Iwrs.Domain.Access;
using Iwrs.Domain.Audit;
using Iwrs.Domain.Randomization;
using Iwrs.Domain.Sms;
using Iwrs.Domain.Studies;
using Iwrs.Domain.Subjects;
using Iwrs.Domain.Supply;
using Iwrs.Functions.Auth;
using Iwrs.Storage.Stores;
using Microsoft.Extensions.Options;

namespace Iwrs.Functions.Features.Sms;

/// <summary>
/// Answers one inbound SMS. SMS is a second door to the API's operations: the sender's phone names the caller, the
/// same authorization (<see cref="StudyContext"/>) and the same operations the HTTP functions call
/// (<see cref="RandomizationFunctions.RandomizeAsync"/>, <see cref="DispensingFunctions.DispenseAsync"/>,
/// <see cref="ShipmentFunctions.ReceiveAsync"/>) decide and write, with the audit records' channel <c>sms</c>. Only
/// the PIN, the confirmation step and the wording are the SMS door's own. Returns the reply text, or null for none.
/// </summary>
public sealed class SmsConversation(
    IServiceProvider services, IwrsTable table, RegisteredPhones phones, RoleAssignmentStore roles, SmsPinLedger pins, StudyStore studies,
    Shipping shipping, SupplyHolds holds, TimeProvider time, IRandomSource random, IOptions<SmsOptions> options, ILogger<SmsConversation> log)
{
    public async Task<string?> AnswerAsync(string messageSid, string from, string? body, CancellationToken ct)
    {
        var command = SmsCommands.Parse(body);
        var client = await table.GetAsync(ct);

        // Twilio answers opt-out and opt-in keywords itself (and blocks or unblocks the number); a reply of ours would be a second one.
        switch (command)
        {
            case SmsCommand.OptOut o:
                await SmsRows.SetOptOutAsync(client, from, optedOut: true, o.Keyword, time.GetUtcNow(), ct);
                log.LogInformation("SMS {MessageSid}: the sender opted out; no notification goes to that number until it opts in again", messageSid);
                return null;
            case SmsCommand.OptIn i:
                await SmsRows.SetOptOutAsync(client, from, optedOut: false, i.Keyword, time.GetUtcNow(), ct);
                log.LogInformation("SMS {MessageSid}: the sender opted in again", messageSid);
                return null;
        }

        // Advanced Opt-Out answered HELP or INFO already; COMMANDS still lists the app's commands.
        if (command is SmsCommand.Help && options.Value.TwilioAnswersHelp && SmsCommands.IsTwilioHelpKeyword(body))
        {
            return null;
        }

        var sender = await phones.FindAsync(from, ct);
        if (sender is null)
        {
            return SmsReplies.NotRegistered;
        }

        return command switch
        {
            SmsCommand.Help => await HelpAsync(sender, ct),
            SmsCommand.Unblind => SmsReplies.NoUnblinding,
            SmsCommand.Invalid invalid => SmsReplies.NotUnderstood(invalid.Expected),
            SmsCommand.Confirm confirm => await ConfirmAsync(client, sender, messageSid, confirm.Code, ct),
            SmsCommand.Randomize r => await WithPinAsync(sender, r.Study, r.Pin, study => RequestAsync(client, sender, study, r, ct), ct),
            SmsCommand.Dispense d => await WithPinAsync(sender, d.Study, d.Pin, study => DispenseAsync(sender, study, d, ct), ct),
            SmsCommand.Receive v => await WithPinAsync(sender, v.Study, v.Pin, study => ReceiveAsync(client, sender, study, v, ct), ct),
            SmsCommand.Status s => await WithPinAsync(sender, s.Study, s.Pin, study => StatusAsync(sender, study, s, ct), ct),
            _ => SmsReplies.NotUnderstood("RAND, DISP, RECV, STATUS or HELP first."),
        };
    }

    /// <summary>The commands, with examples for the first study (in id order) the sender holds a role in, and their site there.</summary>
    private async Task<string> HelpAsync(SmsSender sender, CancellationToken ct)
    {
        foreach (var studyId in sender.Studies)
        {
            var held = await roles.ForUserAsync(studyId, sender.UserId, ct);
            if (held.Count > 0 && await studies.GetAsync(studyId, ct) is { } study)
            {
                var config = study.Configuration;
                return SmsReplies.Help(config, held.Select(a => a.Assignment.SiteId).OfType<string>().Order(StringComparer.Ordinal).FirstOrDefault() ?? config.Sites[0].SiteId);
            }
        }

        return SmsReplies.NotRegistered;
    }

    /// <summary>The PIN first: nothing about the study is looked at for a sender who cannot give it.</summary>
    private async Task<string> WithPinAsync(SmsSender sender, string typedStudy, string pin, Func<string, Task<string>> act, CancellationToken ct)
    {
        var studyId = SmsCommands.Match(sender.Studies, typedStudy) ?? typedStudy;
        var (outcome, failures) = await pins.AttemptAsync(sender.UserId, pin, studyId, ct);
        return outcome switch
        {
            PinOutcome.Accepted => await act(studyId),
            PinOutcome.Wrong => SmsReplies.WrongPin(failures),
            PinOutcome.LockedNow => SmsReplies.LockedNow(),
            PinOutcome.Locked => SmsReplies.Locked,
            _ => SmsReplies.PinNotSet,
        };
    }

    /// <summary>RAND, first step: authorized and checked as the API would, then a code to reply with; nothing else is written.</summary>
    private async Task<string> RequestAsync(Azure.Data.Tables.TableClient client, SmsSender sender, string studyId, SmsCommand.Randomize command, CancellationToken ct)
    {
        var stored = Identifiers.IsValid(studyId) ? await studies.GetAsync(studyId, ct) : null;
        var siteId = stored is null ? command.Site : SmsCommands.Match(stored.Configuration.Sites.Select(s => s.SiteId), command.Site) ?? command.Site;
        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.Randomize, siteId, services, Caller(sender), Channel.Sms, ct);
        if (refusal is not null)
        {
            return SmsReplies.Refused(refusal);
        }

        var config = context!.Study.Configuration;
        var request = Request(config, siteId, command.Factors);
        if (Check(config, command.Subject, request) is { } invalid)
        {
            return SmsReplies.Refused(invalid);
        }

        var now = time.GetUtcNow();
        for (var i = 0; i < 3; i++)
        {
            var pending = ConfirmationCodes.Create(
                ConfirmationCodes.New(random), sender.Phone, sender.UserId, studyId, command.Subject, siteId, request.StratificationFactors!, now);
            if (await SmsRows.TryAddConfirmationAsync(client, pending, ct))
            {
                return SmsReplies.ConfirmPrompt(config, pending);
            }
        }

        return SmsReplies.Refused(new DomainError("write-conflict", "No confirmation code could be issued; send the RAND message again."));
    }

    /// <summary>RAND, second step: the same phone's code within its lifetime, once; then the API's randomization.</summary>
    private async Task<string> ConfirmAsync(Azure.Data.Tables.TableClient client, SmsSender sender, string messageSid, string code, CancellationToken ct)
    {
        var found = await SmsRows.GetConfirmationAsync(client, sender.Phone, code, ct);
        if (found is not { } row || row.Pending.UserId != sender.UserId)
        {
            return SmsReplies.CodeUnknown(code);
        }

        // A user locked out since the code was issued (wrong PINs from any phone) cannot use it either.
        if ((await pins.GetAsync(sender.UserId, ct)).IsLocked)
        {
            return SmsReplies.Locked;
        }

        var (pending, etag) = row;
        switch (ConfirmationCodes.Check(pending, sender.Phone, messageSid, time.GetUtcNow()))
        {
            case ConfirmationCheck.Expired:
                return SmsReplies.CodeExpired(code);
            case ConfirmationCheck.Used:
                return SmsReplies.CodeUsed(code);
            case ConfirmationCheck.WrongPhone:
                return SmsReplies.CodeUnknown(code);
        }

        // Two confirmations at once: the If-Match lets one through; the other finds the code used.
        if (pending.UsedBy is null && !await SmsRows.TryUseConfirmationAsync(client, pending, etag, messageSid, ct))
        {
            return SmsReplies.CodeUsed(code);
        }

        var (context, refusal) = await StudyContext.ResolveAsync(pending.StudyId, StudyAction.Randomize, pending.SiteId, services, Caller(sender), Channel.Sms, ct);
        if (refusal is not null)
        {
            return SmsReplies.Refused(refusal);
        }

        var request = new RandomizationRequest(pending.SiteId, EligibilityConfirmed: true, pending.Factors);
        var result = await RandomizationFunctions.RandomizeAsync(context!, pending.SubjectId, request, null, 0, time, random, holds, ct);
        return result.IsSuccess ? SmsReplies.Randomized(context!.Study.Configuration, result.Value.Subject) : SmsReplies.Refused(result.Error!);
    }

    private async Task<string> DispenseAsync(SmsSender sender, string studyId, SmsCommand.Dispense command, CancellationToken ct)
    {
        var (context, resolved, refusal) = await StudyContext.ResolveSubjectAsync(studyId, command.Subject, StudyAction.Dispense, services, Caller(sender), Channel.Sms, ct);
        if (refusal is not null)
        {
            return SmsReplies.Refused(refusal);
        }

        var config = context!.Study.Configuration;
        var visit = SmsCommands.Match(config.VisitSchedule.VisitCodes, command.Visit) ?? command.Visit;
        var result = await DispensingFunctions.DispenseAsync(context, resolved!, visit, time, random, holds, ct);
        return result.IsSuccess ? SmsReplies.Dispensed(config, result.Value.Subject, visit) : SmsReplies.Refused(result.Error!);
    }

    /// <summary>RECV: every kit still to be reported, as ok. Damaged or missing kits need the API or web.</summary>
    private async Task<string> ReceiveAsync(Azure.Data.Tables.TableClient client, SmsSender sender, string studyId, SmsCommand.Receive command, CancellationToken ct)
    {
        var shipmentId = command.Shipment.ToUpperInvariant();
        var first = Identifiers.IsValid(studyId) ? await ShipmentRows.GetAsync(client, studyId, shipmentId, ct) : null;
        var (context, refusal) = await StudyContext.ResolveAsync(studyId, StudyAction.ReceiveShipment, first?.Shipment.SiteId, services, Caller(sender), Channel.Sms, ct);
        if (refusal is not null)
        {
            return SmsReplies.Refused(refusal);
        }

        if (first is null)
        {
            return SmsReplies.Refused(new DomainError("shipment-not-found", $"There is no shipment '{shipmentId}'."));
        }

        var receipt = first.Shipment.Kits.Where(k => k.Condition == KitCondition.Pending).Select(k => (k.KitNumber, KitCondition.Ok)).ToList();
        var result = await ShipmentFunctions.ReceiveAsync(context!, shipmentId, receipt, shipping, holds, time, ct);
        return result.IsSuccess ? SmsReplies.Received(studyId, result.Value) : SmsReplies.Refused(result.Error!);
    }

    private async Task<string> StatusAsync(SmsSender sender, string studyId, SmsCommand.Status command, CancellationToken ct)
    {
        var (context, resolved, refusal) = await StudyContext.ResolveSubjectAsync(studyId, command.Subject, StudyAction.ViewSubject, services, Caller(sender), Channel.Sms, ct);
        return refusal is not null ? SmsReplies.Refused(refusal) : SmsReplies.Status(context!.Study.Configuration, resolved!.Subject);
    }

    private static Caller Caller(SmsSender sender) => new(sender.UserId, null);

    private static RandomizationRequest Request(StudyConfiguration config, string siteId, IReadOnlyDictionary<string, string> typed) =>
        new(siteId, EligibilityConfirmed: true, SmsCommands.MatchFactors(config, typed));

    /// <summary>The API's own checks of a randomization request, before a code is issued for it.</summary>
    private static DomainError? Check(StudyConfiguration config, string subjectId, RandomizationRequest request)
    {
        var check = SubjectRules.CheckRandomization(config, subjectId, request, existing: null);
        if (!check.IsSuccess)
        {
            return check.Error;
        }

        return config.Allocation == Allocation.Randomized && Strata.For(config, request.SiteId!, request.StratificationFactors) is { IsSuccess: false } strata
            ? strata.Error
            : null;
    }
}
