using Iwrs.Web.Api;
using Iwrs.Web.Auth;
using Microsoft.AspNetCore.Components;

namespace Iwrs.Web.Shared;

/// <summary>What every page starts from: the signed-in user (or a redirect to sign in), and one place where a
/// failed call becomes the problem the page shows.</summary>
public abstract class IwrsPage : ComponentBase
{
    [Inject] protected IwrsApi Api { get; set; } = default!;

    [Inject] protected Session Session { get; set; } = default!;

    [Inject] protected NavigationManager Navigation { get; set; } = default!;

    [Inject] protected IAccessTokenSource Tokens { get; set; } = default!;

    [Inject] protected PageState State { get; set; } = default!;

    protected Me? Me { get; private set; }

    /// <summary>The last call's problem, shown by the page (null when it succeeded).</summary>
    protected ApiProblem? Problem { get; set; }

    protected bool Busy { get; private set; }

    protected override async Task OnParametersSetAsync()
    {
        State.Set(false);
        if (await Tokens.GetAsync() is null)
        {
            Navigation.NavigateTo(Tokens.SignInPath);
            return;
        }

        await Run(async () =>
        {
            Me = await Session.MeAsync();
            await LoadAsync();
        });
        State.Set(true);
    }

    /// <summary>The page's own reads, after the user is known.</summary>
    protected virtual Task LoadAsync() => Task.CompletedTask;

    /// <summary>Runs a call, showing progress while it runs and its problem if it fails.</summary>
    protected async Task<bool> Run(Func<Task> action)
    {
        Busy = true;
        Problem = null;
        try
        {
            await action();
            return true;
        }
        catch (ApiProblemException e)
        {
            Problem = e.Problem;
            if (e.Problem.Code == "authentication-required")
            {
                Session.Forget();
                Navigation.NavigateTo(Tokens.SignInPath);
            }

            return false;
        }
        finally
        {
            Busy = false;
        }
    }

    protected bool Holds(string studyId, string role, string? siteId = null) => Me is not null && Session.Holds(Me, studyId, role, siteId);

    protected static string Esc(string value) => Uri.EscapeDataString(value);
}
