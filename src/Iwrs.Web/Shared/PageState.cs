namespace Iwrs.Web.Shared;

/// <summary>Whether the page on screen has finished its reads: the layout marks <c>main</c> with
/// <c>data-ready</c>, so assistive tools (<c>aria-busy</c>) and the browser tests know when the content is all there.</summary>
public sealed class PageState
{
    public bool Ready { get; private set; } = true;

    public event Action? Changed;

    public void Set(bool ready)
    {
        if (Ready != ready)
        {
            Ready = ready;
            Changed?.Invoke();
        }
    }
}
