from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "mesoclinic.courses"
    label = "courses"
    verbose_name = "Courses"

    def ready(self) -> None:
        from mesoclinic.core.panels import PatientPanel, register_patient_panel
        from mesoclinic.scheduling.hooks import register_appointment_areas, register_move_check, register_series_windows

        from .hooks import course_series_windows, course_session_areas
        from .panels import courses_panel
        from .windows import check_course_moves

        register_series_windows(course_series_windows)
        register_appointment_areas(course_session_areas)
        register_move_check(check_course_moves)
        register_patient_panel(PatientPanel(order=30, key="courses", title="Courses", template="courses/panel.html", context=courses_panel))
